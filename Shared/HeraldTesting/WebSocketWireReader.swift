/// Reads what a server sends on a raw WebSocket connection — the HTTP response head, then unmasked frames —
/// through a test client's own `readBytes` (exactly `count` bytes, or nil at end-of-file).
public enum WebSocketWireReader {
    /// The response head up to and including its blank line, byte by byte so nothing after it is consumed;
    /// `complete` is false when the connection ended first (then `bytes` is what arrived).
    public static func responseHead(_ readBytes: (Int) throws -> [UInt8]?) throws -> (bytes: [UInt8], complete: Bool) {
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard let byte = try readBytes(1)?.first else { return (head, false) }
            head.append(byte)
        }
        return (head, true)
    }

    /// The next frame's opcode and payload, or nil when the connection ended.
    public static func frame(_ readBytes: (Int) throws -> [UInt8]?) throws -> (opcode: UInt8, payload: [UInt8])? {
        guard let header = try readBytes(2) else { return nil }
        var length = Int(header[1] & 0x7F)
        if length == 126 {
            guard let extended = try readBytes(2) else { return nil }
            length = Int(extended[0]) << 8 | Int(extended[1])
        } else if length == 127 {
            guard let extended = try readBytes(8) else { return nil }
            length = extended.reduce(0) { $0 << 8 | Int($1) }
        }
        guard let payload = length == 0 ? [] : try readBytes(length) else { return nil }
        return (header[0] & 0x0F, payload)
    }
}

/// Writes what a client sends on a raw WebSocket connection: masked frames, whole or as a header alone (to
/// announce a length and then send the payload in pieces, or not at all).
public enum WebSocketWireWriter {
    /// The header of one masked frame announcing `length` payload bytes, its mask included.
    public static func frameHeader(opcode: UInt8, fin: Bool = true, length: Int, mask: [UInt8]) -> [UInt8] {
        var header: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if length < 126 {
            header.append(0x80 | UInt8(length))
        } else if length <= 0xFFFF {
            header += [0x80 | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        } else {
            header.append(0x80 | 127)
            header += (0..<8).reversed().map { UInt8((length >> ($0 * 8)) & 0xFF) }
        }
        return header + mask
    }

    /// One whole frame with a random mask (clients must mask); `fin: false` starts or continues a fragmented message.
    public static func maskedFrame(opcode: UInt8, fin: Bool = true, payload: [UInt8]) -> [UInt8] {
        let mask: [UInt8] = (0..<4).map { _ in UInt8.random(in: 0...255) }
        return frameHeader(opcode: opcode, fin: fin, length: payload.count, mask: mask)
            + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    }
}
