import Foundation
import HeraldTesting

/// A WebSocket client on a blocking loopback socket that does only what a test tells it: it sees every
/// frame the gateway sends (pings and close frames included), answers pings only when asked, and can
/// stop half-way through its HTTP request. Call its methods through `Blocking.run`.
final class RawWebSocket: Sendable {
    /// A frame from the gateway (server frames are never masked).
    struct Frame: Sendable {
        var opcode: UInt8
        var payload: [UInt8]

        var text: String { String(decoding: payload, as: UTF8.self) }
        /// The close code and reason of a close frame.
        var close: (code: Int, reason: String)? {
            guard opcode == 0x8, payload.count >= 2 else { return nil }
            return (Int(payload[0]) << 8 | Int(payload[1]), String(decoding: payload.dropFirst(2), as: UTF8.self))
        }
    }

    private let fd: Int32

    /// A TCP connection that has sent nothing yet.
    init(port: Int, receiveTimeoutSeconds: Int = 20) throws {
        fd = try LoopbackSocket.connect(port: port, receiveTimeoutSeconds: receiveTimeoutSeconds)
    }

    /// Connects and completes the upgrade to `/ws` (plus `query`), or throws with the refusal.
    static func upgraded(port: Int, query: String = "") throws -> RawWebSocket {
        let socket = try RawWebSocket(port: port)
        do {
            try socket.write(Array(Self.upgradeRequest(query: query).utf8))
            let head = try socket.readResponseHead()
            guard head.hasPrefix("HTTP/1.1 101") else { throw TestFailure("upgrade refused: \(head)") }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    static func upgradeRequest(query: String = "") -> String {
        var request = "GET /ws\(query) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in WebSocketHandshake.headers { request += "\(name): \(value)\r\n" }
        return request + "\r\n"
    }

    /// Reads the HTTP response head byte by byte, so nothing after it is consumed.
    func readResponseHead() throws -> String {
        let head = try WebSocketWireReader.responseHead(readBytes)
        guard head.complete else { throw TestFailure("connection ended before the response head: \(head.bytes.count) bytes") }
        return String(decoding: head.bytes, as: UTF8.self)
    }

    /// The next frame, or nil when the gateway closed the TCP connection.
    func readFrame() throws -> Frame? {
        try WebSocketWireReader.frame(readBytes).map { Frame(opcode: $0.opcode, payload: $0.payload) }
    }

    /// True once the gateway closed the TCP connection: a read returns end-of-file.
    func readsEndOfFile() throws -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, 0)
        // A reset is the gateway closing too (it had unread bytes of ours).
        if count < 0, errno == ECONNRESET { return true }
        if count < 0 { throw TestFailure("recv failed (errno \(errno)): no end-of-file within the receive timeout") }
        return count == 0
    }

    func sendText(_ text: String) throws {
        try sendFrame(opcode: 0x1, payload: Array(text.utf8))
    }

    /// Answers a ping with its payload, as a browser does by itself.
    func sendPong(_ payload: [UInt8]) throws {
        try sendFrame(opcode: 0xA, payload: payload)
    }

    /// Sends one masked frame (clients must mask); `fin: false` for all but the last frame of a fragmented message.
    func sendFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true) throws {
        try write(WebSocketWireWriter.maskedFrame(opcode: opcode, fin: fin, payload: payload))
    }

    func write(_ bytes: [UInt8]) throws {
        try LoopbackSocket.write(fd, bytes)
    }

    /// Exactly `count` bytes, or nil at end-of-file; throws when the receive timeout passes.
    private func readBytes(_ count: Int) throws -> [UInt8]? {
        try LoopbackSocket.read(fd, count: count)
    }

    /// Shuts down the sending side only, as a client that half-closes its socket does.
    func shutdownWrite() {
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    /// Reads frames until the gateway closes the TCP connection.
    func framesUntilEnd() throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try readFrame() { frames.append(frame) }
        return frames
    }

    func close() {
        _ = Glibc.close(fd)
    }
}
