import HTTPTypes
import HeraldProtocol
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket

/// A frame the gateway sent, classified.
public enum IncomingFrame: Sendable {
    case event(EventFrame)
    case server(ServerMessage)
    case unknown(String)

    init(text: String) {
        if let message = try? ServerMessage.decode(text) {
            self = .server(message)
        } else if let frame = try? EventFrame.decode(text) {
            self = .event(frame)
        } else {
            self = .unknown(text)
        }
    }
}

/// Errors of the test client itself.
public enum ChatTestClientError: Error, CustomStringConvertible {
    case closed(code: Int?, frames: Int)
    case deadlineExceeded(String)
    case unexpected(String)

    public var description: String {
        switch self {
        case .closed(let code, let frames): "connection closed (code \(code.map(String.init) ?? "none")) after \(frames) frames"
        case .deadlineExceeded(let what): "gave up waiting for \(what)"
        case .unexpected(let what): "unexpected frame: \(what)"
        }
    }
}

/// A real WebSocket client for tests: speaks the browser protocol to a running gateway and
/// records every frame it receives, in order.
public final class ChatTestClient: Sendable {
    public let established: ServerMessage.ConnectionEstablished
    private let outbound: WebSocketOutboundWriter
    private let inbox: Inbox
    private let connection: Task<WebSocketCloseFrame?, any Error>

    private init(
        established: ServerMessage.ConnectionEstablished,
        outbound: WebSocketOutboundWriter,
        inbox: Inbox,
        connection: Task<WebSocketCloseFrame?, any Error>
    ) {
        self.established = established
        self.outbound = outbound
        self.inbox = inbox
        self.connection = connection
    }

    public var userID: String { established.userID }

    /// Connects to `ws://host:port/ws`, offering `herald.v1` (and `bearer.<token>` when given),
    /// and waits for `connection_established`.
    public static func connect(
        host: String = "127.0.0.1",
        port: Int,
        token: String? = nil,
        logger: Logger = Logger(label: "test-client")
    ) async throws -> ChatTestClient {
        var protocols = [HeraldProtocolVersion.subprotocol]
        if let token { protocols.append("bearer.\(token)") }
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = protocols.joined(separator: ", ")
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24, additionalHeaders: headers)
        let inbox = Inbox()
        let (writers, writersContinuation) = AsyncStream<WebSocketOutboundWriter>.makeStream()
        let client = WebSocketClient(url: "ws://\(host):\(port)/ws", configuration: configuration, logger: logger) { inbound, outbound, _ in
            writersContinuation.yield(outbound)
            writersContinuation.finish()
            do {
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    if case .text(let text) = message {
                        await inbox.push(text)
                    }
                }
            } catch {
                await inbox.finish()
                throw error
            }
            await inbox.finish()
        }
        let connection = Task {
            defer { writersContinuation.finish() }
            let close = try await client.run()
            await inbox.finish()
            return close
        }
        var writerIterator = writers.makeAsyncIterator()
        guard let outbound = await writerIterator.next() else {
            let close = try await connection.value
            throw ChatTestClientError.closed(code: close.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }, frames: 0)
        }
        guard case .server(.connectionEstablished(let established)) = try await inbox.next() else {
            throw ChatTestClientError.unexpected("first frame was not connection_established")
        }
        return ChatTestClient(established: established, outbound: outbound, inbox: inbox, connection: connection)
    }

    public func send(_ message: ClientMessage) async throws {
        try await outbound.write(.text(message.encoded()))
    }

    /// Sends any text, well-formed or not.
    public func sendRaw(_ text: String) async throws {
        try await outbound.write(.text(text))
    }

    public func sendBinary(_ bytes: [UInt8]) async throws {
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    }

    /// The next frame, in arrival order (consuming).
    public func next() async throws -> IncomingFrame {
        try await inbox.next()
    }

    /// Consumes frames until one matches.
    public func next<T>(_ what: String, _ match: (IncomingFrame) -> T?) async throws -> T {
        while true {
            if let value = match(try await next()) { return value }
        }
    }

    /// The first frame of the whole recording that matches, waiting for it if needed (not consuming).
    public func firstMatch<T: Sendable>(_ match: @escaping @Sendable (IncomingFrame) -> T?) async throws -> T {
        try await inbox.firstMatch(match)
    }

    /// The next `error` frame (consuming).
    public func nextError() async throws -> ProtocolError {
        try await next("error") { frame in
            if case .server(.error(let error)) = frame { return error }
            return nil
        }
    }

    /// Sends a message and returns its `run_queued`, matched by `client_msg_id`, so several runs
    /// may be started at once on one connection; an `error` frame arriving instead is thrown.
    public func startRun(_ content: String, threadID: String? = nil, clientMessageID: String? = nil) async throws -> ServerMessage.RunQueued {
        let id = clientMessageID ?? "msg-\(UInt64.random(in: 0...UInt64.max))"
        let searchFrom = await inbox.frames.count
        try await send(.userMessage(.init(content: content, threadID: threadID, clientMessageID: id)))
        let answer = try await inbox.firstMatch(from: searchFrom) { frame -> Result<ServerMessage.RunQueued, ProtocolError>? in
            switch frame {
            case .server(.runQueued(let queued)) where queued.clientMessageID == id: return .success(queued)
            case .server(.error(let error)): return .failure(error)
            default: return nil
            }
        }
        return try answer.get()
    }

    /// Every event frame of a run, from the whole recording, once its terminal event has arrived.
    public func events(untilEndOf runID: String) async throws -> [EventFrame] {
        _ = try await firstMatch { frame -> Bool? in
            if case .event(let event) = frame, event.runID == runID, event.event.isRunTerminal { return true }
            return nil
        }
        return await inbox.frames.compactMap { frame in
            if case .event(let event) = frame, event.runID == runID { return event }
            return nil
        }
    }

    /// Every frame received so far, as text, in order.
    public var received: [String] {
        get async { await inbox.texts }
    }

    /// Every event frame received so far, in order.
    public var receivedEvents: [EventFrame] {
        get async {
            await inbox.frames.compactMap { if case .event(let event) = $0 { event } else { nil } }
        }
    }

    /// Closes normally and waits for the connection to end.
    public func close() async {
        try? await outbound.close(.normalClosure, reason: nil)
        _ = try? await connection.value
    }

    /// Waits for the server to close the connection and returns its close code.
    public func closeCode() async throws -> Int? {
        let frame = try await connection.value
        return frame.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }
    }

    /// Drops the TCP connection without a close handshake.
    public func abandon() {
        connection.cancel()
    }
}

/// Records incoming frames; readers either consume them in order (`next`) or search the whole
/// recording without consuming (`firstMatch`), so concurrent waits on one connection never steal frames.
private actor Inbox {
    private(set) var texts: [String] = []
    private(set) var frames: [IncomingFrame] = []
    private var readIndex = 0
    private var finished = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func push(_ text: String) {
        texts.append(text)
        frames.append(IncomingFrame(text: text))
        wakeAll()
    }

    func finish() {
        finished = true
        wakeAll()
    }

    func wakeAll() {
        let woken = waiters
        waiters.removeAll()
        for waiter in woken { waiter.resume() }
    }

    private func waitForMore(than count: Int) async throws {
        while frames.count <= count {
            if finished { throw ChatTestClientError.closed(code: nil, frames: frames.count) }
            // A test that hits its time limit is cancelled: wake up and fail instead of waiting forever.
            try Task.checkCancellation()
            await withTaskCancellationHandler {
                await withCheckedContinuation { waiters.append($0) }
            } onCancel: {
                Task { await self.wakeAll() }
            }
        }
    }

    func next() async throws -> IncomingFrame {
        try await waitForMore(than: readIndex)
        defer { readIndex += 1 }
        return frames[readIndex]
    }

    func firstMatch<T: Sendable>(from start: Int = 0, _ match: @Sendable (IncomingFrame) -> T?) async throws -> T {
        var scanned = start
        while true {
            while scanned < frames.count {
                if let value = match(frames[scanned]) { return value }
                scanned += 1
            }
            try await waitForMore(than: scanned)
        }
    }
}
