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
