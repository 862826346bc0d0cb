import NIOCore

/// Redis Cluster's mapping of a key to one of its 16384 hash slots: CRC16 (XMODEM) of the key's bytes, or of its
/// hash tag, modulo 16384, exactly as the Redis Cluster specification defines it.
public enum RedisHashSlot {
    /// How many hash slots a cluster has.
    public static let count = 16_384

    /// Every slot, `0...16383`.
    public static let all = 0...(count - 1)

    /// The slot of `key`, read as the bytes Redis receives (UTF-8 for a `String`).
    public static func hashSlot(of key: String) -> Int {
        var key = key
        // Contiguous UTF-8 is the common case; `withUTF8` makes a bridged or lazily stored string contiguous first.
        return key.withUTF8 { hashSlot(of: $0) }
    }

    /// The slot of a key given as an argument of a command.
    public static func hashSlot(of key: RedisArgument) -> Int {
        hashSlot(of: key.bytes)
    }

    /// The slot of a key held in a buffer (its readable bytes).
    public static func hashSlot(of key: ByteBuffer) -> Int {
        hashSlot(of: key.readableBytesView)
    }

    /// The slot of a key given as its bytes.
    public static func hashSlot<Key: Collection<UInt8>>(of key: Key) -> Int {
        let hashed = hashTag(in: key) ?? key[...]
        return Int(crc16(hashed) & UInt16(count - 1))
    }

    /// The part of `key` that decides its slot, or nil when the whole key does.
    ///
    /// Per the specification: the bytes between the first `{` and the first `}` after it, if there are any. An
    /// empty tag (`foo{}{bar}`) means no tag, so the whole key is hashed; `foo{{bar}}zap` hashes `{bar`, and
    /// `foo{bar}{zap}` hashes `bar`.
    public static func hashTag<Key: Collection<UInt8>>(in key: Key) -> Key.SubSequence? {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        let start = key.index(after: open)
        guard let close = key[start...].firstIndex(of: UInt8(ascii: "}")), close != start else { return nil }
        return key[start..<close]
    }

    /// CRC16 as Redis Cluster uses it: the XMODEM variant (polynomial 0x1021, initial value 0, no reflection, no
    /// final XOR); `"123456789"` gives 0x31C3.
    public static func crc16<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt16 {
        if let crc = bytes.withContiguousStorageIfAvailable({ crc16Contiguous($0) }) {
            return crc
        }
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ crc16Table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static func crc16Contiguous(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt16 {
        crc16Table.withUnsafeBufferPointer { table in
            var crc: UInt16 = 0
            for byte in bytes {
                crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
            }
            return crc
        }
    }

    /// The byte-at-a-time table of the polynomial, computed once rather than pasted, so it cannot hold a typo.
    private static let crc16Table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
