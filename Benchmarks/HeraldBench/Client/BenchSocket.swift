import ArgumentParser
import Foundation
import HTTPTypes
import HeraldProtocol
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket

/// Where the gateway's WebSocket is: `ws://host:port/path`.
struct GatewayTarget: Sendable, CustomStringConvertible {
    var host: String
    var port: Int
    var path: String

    init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "ws", let host = components.host, !host.isEmpty else {
            throw ValidationError("--url must look like ws://127.0.0.1:8080/ws, got '\(url)'")
        }
        self.host = host
        self.port = components.port ?? 80
        self.path = components.path.isEmpty ? "/ws" : components.path
    }

    init(host: String, port: Int, path: String = "/ws") {
        self.host = host
        self.port = port
        self.path = path
    }

    var url: String { "ws://\(host):\(port)\(path)" }
    var description: String { url }

    /// The gateway's `/metrics` on the same port.
    var metrics: MetricsEndpoint { MetricsEndpoint(port: port) }
}

/// Flags naming the gateway: `--url`, or `--host` and `--port`.
struct GatewayOptions: ParsableArguments {
    @Option(help: "The gateway's WebSocket endpoint (overrides --host/--port).")
    var url: String?

    @Option(help: "The gateway's host.")
    var host = "127.0.0.1"

    @Option(help: "The gateway's port.")
    var port = 8080

    func target() throws -> GatewayTarget {
        if let url { return try GatewayTarget(url: url) }
        return GatewayTarget(host: host, port: port)
    }
}

/// Why a socket could not be used.
enum BenchSocketError: Error, CustomStringConvertible {
    case closedBeforeEstablished(code: Int?)
    case unexpectedFirstFrame(String)

    var description: String {
        switch self {
        case .closedBeforeEstablished(let code):
            "the gateway closed the connection before connection_established (close code \(code.map(String.init) ?? "none"))"
        case .unexpectedFirstFrame(let text): "the first frame was not connection_established: \(text.prefix(200))"
        }
    }
}

/// A lean WebSocket client for load: speaks `herald.v1`, hands every text frame after
/// `connection_established` to a callback as raw bytes with its receipt time, and keeps nothing.
///
/// `ChatTestClient` (HeraldTesting) records and decodes every frame, which is right for tests and too
/// costly for tens of thousands of frames per second on the machine that also runs the deployment.
final class BenchSocket: Sendable {
    /// Called on the socket's reading task, in arrival order: the frame's bytes and when they arrived
    /// (`WallClock.now()`, taken before anything else is done with them).
    typealias FrameHandler = @Sendable (ByteBuffer, Double) -> Void

    let established: ServerMessage.ConnectionEstablished
    private let outbound: WebSocketOutboundWriter
    private let task: Task<WebSocketCloseFrame?, any Error>

    private init(established: ServerMessage.ConnectionEstablished, outbound: WebSocketOutboundWriter, task: Task<WebSocketCloseFrame?, any Error>) {
        self.established = established
        self.outbound = outbound
        self.task = task
    }

    /// Connects (as a new guest, or as the user of `token`) and waits for `connection_established`.
    static func connect(_ target: GatewayTarget, token: String? = nil, logger: Logger, onFrame: @escaping FrameHandler) async throws -> BenchSocket {
        var protocols = [HeraldProtocolVersion.subprotocol]
        if let token { protocols.append("bearer.\(token)") }
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = protocols.joined(separator: ", ")
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24, additionalHeaders: headers, closeTimeout: .seconds(5))
        let (ready, readyContinuation) = AsyncThrowingStream<(WebSocketOutboundWriter, ServerMessage.ConnectionEstablished), any Error>.makeStream()

        let client = WebSocketClient(url: target.url, configuration: configuration, logger: logger) { inbound, outbound, _ in
            var iterator = inbound.makeAsyncIterator()
            var messages = WebSocketMessageAssembler()
            var first = true
            while let frame = try await iterator.next() {
                let received = WallClock.now()
                guard let data = messages.append(frame) else { continue }
                if first {
                    first = false
                    let text = String(buffer: data)
                    guard case .connectionEstablished(let established)? = try? ServerMessage.decode(text) else {
                        readyContinuation.finish(throwing: BenchSocketError.unexpectedFirstFrame(text))
                        return
                    }
                    readyContinuation.yield((outbound, established))
                    readyContinuation.finish()
                    continue
                }
                onFrame(data, received)
            }
        }
        let ((outbound, established), task) = try await WebSocketMessageAssembler.run(client, until: (ready, readyContinuation)) { close in
            BenchSocketError.closedBeforeEstablished(code: close.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) })
        }
        return BenchSocket(established: established, outbound: outbound, task: task)
    }

    func send(_ message: ClientMessage) async throws {
        try await outbound.write(.text(message.encoded()))
    }

    /// Closes normally and waits (up to the close timeout) for the connection to end.
    func close() async {
        try? await outbound.close(.normalClosure, reason: nil)
        _ = try? await task.value
    }

    /// Waits for the connection to end; the server's close code, if it sent one.
    func closed() async -> Int? {
        let frame = try? await task.value
        return frame.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }
    }

    /// Drops the connection without a close handshake.
    func abandon() {
        task.cancel()
    }
}

/// A logger that only speaks at `level` and above.
func quietLogger(_ label: String, _ level: Logger.Level) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = level
    return logger
}

/// Runs `body` for `0..<count` with at most `width` at once; returns the results in index order.
func boundedConcurrentMap<T: Sendable>(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) async -> T) async -> [T] {
    await withTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: count)
        var next = 0
        while next < min(width, count) {
            let index = next
            group.addTask { (index, await body(index)) }
            next += 1
        }
        while let (index, value) = await group.next() {
            results[index] = value
            if next < count {
                let index = next
                group.addTask { (index, await body(index)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}

/// Gathers a fragmented WebSocket message (servers may fragment, and a client must not rely on whole frames) and
/// runs a client until it is ready; shared by `BenchSocket` and `PlainWebSocket`.
struct WebSocketMessageAssembler {
    private var pending: ByteBuffer?

    /// The whole message once `frame` completes one; nil while fragments are still to come.
    mutating func append(_ frame: WebSocketDataFrame) -> ByteBuffer? {
        guard !frame.fin || pending != nil else { return frame.data }
        if pending == nil { pending = frame.data } else { pending!.writeImmutableBuffer(frame.data) }
        guard frame.fin else { return nil }
        defer { pending = nil }
        return pending
    }

    /// Runs `client` in a task and waits for the first value its handler yields to `ready`; `closed` says why when the
    /// connection ends first. Returns that value and the task, whose value is the server's close frame.
    static func run<Ready: Sendable>(
        _ client: sending WebSocketClient,
        until ready: (stream: AsyncThrowingStream<Ready, any Error>, continuation: AsyncThrowingStream<Ready, any Error>.Continuation),
        closed: @escaping @Sendable (WebSocketCloseFrame?) -> any Error
    ) async throws -> (Ready, Task<WebSocketCloseFrame?, any Error>) {
        let task = Task {
            do {
                let close = try await client.run()
                ready.continuation.finish(throwing: closed(close))
                return close
            } catch {
                ready.continuation.finish(throwing: error)
                throw error
            }
        }
        do {
            var iterator = ready.stream.makeAsyncIterator()
            guard let value = try await iterator.next() else { throw closed(nil) }
            return (value, task)
        } catch {
            task.cancel()
            throw error
        }
    }
}
