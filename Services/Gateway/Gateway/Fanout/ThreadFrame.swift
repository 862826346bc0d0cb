import Foundation
import HeraldProtocol
import NIOCore

/// One event frame of a thread exactly as the relay published it, with its place in the log read once.
struct ThreadFrame: Sendable {
    let seq: Int
    let epoch: String
    /// When the worker emitted the event, for the latency metric.
    let emittedAt: Date?
    /// The frame's text, forwarded unchanged to every watcher.
    let text: ByteBuffer

    private struct Header: Decodable {
        let seq: Int
        let epoch: String
        let timestamp: String?
    }

    /// Nil when the text is not an event frame.
    init?(_ text: ByteBuffer) {
        if let header = text.withUnsafeReadableBytes(Self.scanHeader) {
            self.seq = header.seq
            self.epoch = header.epoch
            self.emittedAt = header.emittedAt.map(Date.init(timeIntervalSince1970:))
        } else {
            guard let header = try? JSONDecoder().decode(Header.self, from: Data(text.readableBytesView)) else { return nil }
            self.seq = header.seq
            self.epoch = header.epoch
            self.emittedAt = header.timestamp.flatMap(HeraldTimestamp.parse)
        }
        self.text = text
    }

    var byteCount: Int { text.readableBytes }

    /// Reads the header of a frame as the relay writes it (`EventFrame.splice`: `{"seq":N,"epoch":"…",` then the
    /// worker's fields in any order) without decoding the rest: every live frame passes here on
    /// its way to the sockets, and a `JSONDecoder` was most of the gateway's own time per frame. Nil for any
    /// other shape, which then goes through the decoder.
    static func scanHeader(_ bytes: UnsafeRawBufferPointer) -> (seq: Int, epoch: String, emittedAt: Double?)? {
        var index = 0
        func expect(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { return false }
            index += count
            return true
        }
        guard expect(#"{"seq":"#) else { return nil }
        var seq = 0
        let digits = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9"), index - digits < 18 {
            seq = seq * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        guard index > digits, expect(#","epoch":""#) else { return nil }
        let epochStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
            index += 1
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let epoch = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[epochStart..<index]), as: UTF8.self)
        index += 1
        guard index < bytes.count, bytes[index] == UInt8(ascii: ",") || bytes[index] == UInt8(ascii: "}") else { return nil }
        return (seq, epoch, Self.topLevelTimestamp(in: bytes, from: index))
    }

    /// The event's own `timestamp`: the key at the object's top level, wherever the encoder put it (Foundation's
    /// `JSONEncoder` on Linux does not keep key order), never one nested in the payload. Strings are skipped
    /// whole, so no text inside them can pass for a key.
    private static func topLevelTimestamp(in bytes: UnsafeRawBufferPointer, from start: Int) -> Double? {
        let key: StaticString = #""timestamp":""#
        let keyLength = key.utf8CodeUnitCount
        var depth = 1
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                if depth == 1, index + keyLength <= bytes.count,
                    (0..<keyLength).allSatisfy({ bytes[index + $0] == key.utf8Start[$0] })
                {
                    return HeraldTimestamp.secondsSince1970(bytes: UnsafeRawBufferPointer(rebasing: bytes[(index + keyLength)...]))
                }
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return nil }
            default:
                break
            }
            index += 1
        }
        return nil
    }
}
