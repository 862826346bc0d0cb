import Foundation
import HeraldTesting
import Testing

/// A WebSocket client on a blocking loopback socket that misbehaves on purpose: it sends any bytes
/// (invalid UTF-8, oversized or endless frames, half a request), reads only when told, and can vanish
/// without a close. Its methods block: call them through `Blocking.run`.
final class WireClient: Sendable {
    /// A frame from the gateway (server frames are never masked).
    struct Frame: Sendable {
        var opcode: UInt8
        var payload: [UInt8]

        var text: String { String(decoding: payload, as: UTF8.self) }
        /// The close code of a close frame.
        var closeCode: Int? {
            guard opcode == 0x8, payload.count >= 2 else { return nil }
            return Int(payload[0]) << 8 | Int(payload[1])
        }
    }

    private let fd: Int32

    /// A TCP connection that has sent nothing yet; `receiveBufferBytes` makes a client that stalls sooner.
    init(port: Int, receiveTimeoutSeconds: Int = 30, receiveBufferBytes: Int32? = nil) throws {
        fd = try LoopbackSocket.connect(port: port, receiveTimeoutSeconds: receiveTimeoutSeconds, receiveBufferBytes: receiveBufferBytes)
        // A send into a gateway that stopped reading must end, not block the test's thread for good.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Connects and completes the upgrade to `/ws` as a new guest.
    static func upgraded(port: Int, receiveBufferBytes: Int32? = nil) throws -> WireClient {
        let client = try WireClient(port: port, receiveBufferBytes: receiveBufferBytes)
        do {
            try client.write(Array(upgradeRequest.utf8))
            let head = try client.readResponseHead()
            guard head.hasPrefix("HTTP/1.1 101") else { throw TestSupportError("upgrade refused: \(head)") }
        } catch {
            client.close()
            throw error
        }
        return client
    }

    static let upgradeRequest = """
        GET /ws HTTP/1.1\r
        Host: 127.0.0.1\r
        Upgrade: websocket\r
        Connection: Upgrade\r
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
        Sec-WebSocket-Version: 13\r
        Sec-WebSocket-Protocol: herald.v1\r
        \r\n
        """

    /// Reads the HTTP response head byte by byte, so nothing after it is consumed.
    func readResponseHead() throws -> String {
        let head = try WebSocketWireReader.responseHead(readBytes)
        guard head.complete else { throw TestSupportError("connection ended before the response head: \(head.bytes.count) bytes") }
        return String(decoding: head.bytes, as: UTF8.self)
    }

    /// The next frame, or nil when the gateway ended the TCP connection.
    func readFrame() throws -> Frame? {
        try WebSocketWireReader.frame(readBytes).map { Frame(opcode: $0.opcode, payload: $0.payload) }
    }

    /// Reads until the gateway's close frame and returns it with the text frames before it; nil close
    /// when the connection ended without one. Throws after `timeout`, even while pings keep coming.
    func readUntilClose(timeout: Duration = .seconds(60)) throws -> (texts: [String], close: Frame?) {
        let deadline = ContinuousClock.now + timeout
        var texts: [String] = []
        while let frame = try readFrame() {
            guard ContinuousClock.now < deadline else {
                throw TestSupportError("no close frame within \(timeout) (\(texts.count) text frames read)")
            }
            switch frame.opcode {
            case 0x1: texts.append(frame.text)
            case 0x8: return (texts, frame)
            default: continue  // pings: this client never answers them, and needs not within the test's time
            }
        }
        return (texts, nil)
    }

    /// True once the gateway ended the TCP connection without sending anything; throws if it sent bytes
    /// or the receive timeout passed first.
    func readsEndOfFileWithoutResponse() throws -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, 0)
        // A reset is the gateway closing too (it had unread bytes of ours).
        if count < 0, errno == ECONNRESET { return true }
        if count < 0 { throw TestSupportError("recv failed (errno \(errno)): no end-of-file within the receive timeout") }
        if count > 0 { throw TestSupportError("the gateway answered a request it should have dropped") }
        return true
    }

    func sendText(_ text: String) throws {
        try sendFrame(opcode: 0x1, payload: Array(text.utf8))
    }

    /// The header of one masked frame announcing `length` payload bytes.
    static func frameHeader(opcode: UInt8, fin: Bool = true, length: Int, mask: [UInt8]) -> [UInt8] {
        WebSocketWireWriter.frameHeader(opcode: opcode, fin: fin, length: length, mask: mask)
    }

    /// Sends one masked frame (clients must mask); `fin: false` starts or continues a fragmented message.
    func sendFrame(opcode: UInt8, fin: Bool = true, payload: [UInt8]) throws {
        try write(WebSocketWireWriter.maskedFrame(opcode: opcode, fin: fin, payload: payload))
    }

    func write(_ bytes: [UInt8]) throws {
        try LoopbackSocket.write(fd, bytes)
    }

    /// Exactly `count` bytes, or nil at end-of-file (or a reset); throws when the receive timeout passes.
    private func readBytes(_ count: Int) throws -> [UInt8]? {
        try LoopbackSocket.read(fd, count: count, resetIsEndOfFile: true)
    }

    /// Closes the socket without a WebSocket close: a FIN, as a browser tab that is killed.
    func close() {
        _ = Glibc.close(fd)
    }

    /// Drops the connection with a TCP reset (linger 0), as a peer that vanished from the network.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        _ = Glibc.close(fd)
    }
}

/// Reading the gateway's `/metrics`.
enum Metrics {
    /// The value of a sample in Prometheus text: the exact series when `metric` carries labels, else the
    /// unlabelled sample or the sum over its labelled samples; 0 when absent.
    static func value(of metric: String, in text: String) -> Double {
        text.split(separator: "\n")
            .filter { line in
                guard !line.hasPrefix("#") else { return false }
                if metric.contains("{") { return line.hasPrefix(metric + " ") }
                return line.hasPrefix(metric + " ") || line.hasPrefix(metric + "{")
            }
            .compactMap { Double($0.split(separator: " ").last ?? "") }
            .reduce(0, +)
    }

    static func gateway(_ deployment: HeraldDeployment, _ metric: String) async throws -> Double {
        let response = try await HTTPProbe.get(port: deployment.gatewayPort, path: "/metrics")
        guard response.status == 200 else { throw TestSupportError("/metrics answered \(response.status)") }
        return value(of: metric, in: response.body)
    }
}

/// Words no log line, document or other message contains: `tag0001 tag0002 …`, each unique, so the
/// words of it a log line holds show how much of it the line carries.
func numberedWords(_ tag: String, characters: Int) -> String {
    var words: [String] = []
    var length = 0
    var index = 0
    while length < characters {
        index += 1
        let word = tag + String(format: "%04d", index)
        words.append(word)
        length += word.count + 1
    }
    return words.joined(separator: " ")
}
