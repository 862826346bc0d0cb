import Foundation

/// Runs blocking socket calls on a thread of their own, never on the concurrency pool (two threads on
/// a two-core machine: a blocked `recv` there stalls every test running in parallel).
public enum Blocking {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

/// A minimal HTTP/1.1 client on a plain socket, for what a WebSocket client cannot show: refused
/// upgrades, status codes and headers.
public enum HTTPProbe {
    public struct Response: Sendable {
        public var status: Int
        /// The status line and headers.
        public var head: String
        public var body: String
    }

    public static func status(port: Int, path: String) async throws -> Int {
        try await get(port: port, path: path).status
    }

    /// `GET path` on 127.0.0.1; `headOnly` stops after the head (a `101` keeps the socket open).
    public static func get(port: Int, path: String, headers: [String: String] = [:], headOnly: Bool = false) async throws -> Response {
        try await request("GET", port: port, path: path, headers: headers, headOnly: headOnly)
    }

    /// `method path` on 127.0.0.1 with `body` (sent with its length when given).
    public static func request(
        _ method: String,
        port: Int,
        path: String,
        headers: [String: String] = [:],
        body: String? = nil,
        headOnly: Bool = false
    ) async throws -> Response {
        try await Blocking.run {
            let fd = try LoopbackSocket.connect(port: port, receiveTimeoutSeconds: 30)
            defer { close(fd) }
            var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
            if headers["Connection"] == nil { request += "Connection: close\r\n" }
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            if let body { request += "Content-Length: \(body.utf8.count)\r\n" }
            request += "\r\n" + (body ?? "")
            let bytes = Array(request.utf8)
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                sent += count
            }
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !(headOnly && response.firstRange(of: [13, 10, 13, 10]) != nil) {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { break }
                response.append(contentsOf: buffer[0..<count])
            }
            let text = String(decoding: response, as: UTF8.self)
            let headEnd = text.range(of: "\r\n\r\n")
            let head = String(text[..<(headEnd?.lowerBound ?? text.endIndex)])
            let parts = head.prefix { $0 != "\r" }.split(separator: " ")
            guard parts.count >= 2, let status = Int(parts[1]) else { throw TestSupportError("no HTTP response from \(port)") }
            return Response(status: status, head: head, body: headEnd.map { String(text[$0.upperBound...]) } ?? "")
        }
    }
}

/// Blocking TCP sockets to 127.0.0.1, for clients that must misbehave or see raw bytes.
public enum LoopbackSocket {
    /// A connected socket; `receiveBufferBytes` shrinks the kernel buffer (a client that stalls sooner).
    public static func connect(port: Int, receiveTimeoutSeconds: Int = 10, receiveBufferBytes: Int32? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed") }
        if var size = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestSupportError("connect to \(port) failed")
        }
        return fd
    }

    /// Sends all of `bytes` (no SIGPIPE when the peer is gone: a failed send throws).
    public static func write(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw TestSupportError("send failed (errno \(errno))") }
            offset += sent
        }
    }

    /// Writes a `POST` of the JSON `body` and returns the response head; see `responseHead(_:expecting:)`.
    public static func postJSON(_ fd: Int32, path: String, body: String, expecting status: Int) throws -> String {
        let request =
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        try write(fd, Array(request.utf8))
        return try responseHead(fd, expecting: status)
    }

    /// The response head up to and including its blank line, read byte by byte so nothing after it is consumed;
    /// throws when the connection ends first or the status is not `status`.
    public static func responseHead(_ fd: Int32, expecting status: Int) throws -> String {
        let (bytes, complete) = try WebSocketWireReader.responseHead { try read(fd, count: $0) }
        let head = String(decoding: bytes, as: UTF8.self)
        guard complete else { throw TestSupportError("the connection closed before the response head: \(head.prefix(120))") }
        guard head.hasPrefix("HTTP/1.1 \(status)") else { throw TestSupportError("refused: \(head.prefix(120))") }
        return head
    }

    /// Exactly `count` bytes, or nil at end-of-file (and at a reset when `resetIsEndOfFile`); throws when the
    /// receive timeout passes.
    public static func read(_ fd: Int32, count: Int, resetIsEndOfFile: Bool = false) throws -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let received = bytes[filled...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received == 0 { return nil }
            if received < 0, errno == ECONNRESET, resetIsEndOfFile { return nil }
            guard received > 0 else { throw TestSupportError("recv failed (errno \(errno)): nothing within the receive timeout") }
            filled += received
        }
        return bytes
    }
}
