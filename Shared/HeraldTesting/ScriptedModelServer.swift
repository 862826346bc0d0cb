import Foundation
import HeraldProtocol
import NIOCore
import NIOPosix

/// A stand-in for an OpenAI-compatible chat-completions server on a real loopback socket.
///
/// Each request it receives is recorded and answered with the next scripted reply, byte for byte:
/// a status line and headers, then body chunks each written and flushed on its own (HTTP chunked
/// encoding), and then the end, a dropped connection, or silence; a step may wait for the test first.
/// Every reply closes its connection (`Connection: close`), so each request arrives on a connection
/// of its own.
public final class ScriptedModelServer: Sendable {
    /// One step of a reply.
    public enum Step: Sendable {
        /// The status line and headers (chunked transfer encoding is added).
        case head(status: Int, headers: [(String, String)])
        /// One chunk of the body, written and flushed by itself; it may end inside a character.
        case chunk([UInt8])
        /// The terminating chunk, then the connection is closed.
        case end
        /// The connection is closed at once, whatever was left unsaid.
        case drop
        /// Nothing more is sent; the connection stays open until the client closes it.
        case hang
        /// Nothing more is sent until `condition` returns, so a test can order the reply's next step
        /// after something the client did (a drop that must come after text reached the user).
        case waitUntil(@Sendable () async -> Void)
        /// Nothing is sent for this long: a model's pace between tokens.
        case pause(Duration)
    }

    /// A request as the server received it.
    public struct RecordedRequest: Sendable {
        public var method: String
        public var path: String
        /// Header names in lower case.
        public var headers: [String: String]
        public var body: JSONValue
    }

    private actor State {
        var replies: [[Step]] = []
        var requests: [RecordedRequest] = []
        var closed = 0
        var closeWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

        public func enqueue(_ steps: [Step]) { replies.append(steps) }

        func take(_ request: RecordedRequest) -> [Step] {
            requests.append(request)
            guard !replies.isEmpty else {
                return ScriptedModelServer.status(500, body: #"{"error":{"message":"the test scripted no reply for this request"}}"#)
            }
            return replies.removeFirst()
        }

        func connectionClosed() {
            closed += 1
            let ready = closeWaiters.filter { $0.count <= closed }
            closeWaiters.removeAll { $0.count <= closed }
            for waiter in ready { waiter.continuation.resume() }
        }

        func waitForClosed(_ count: Int) async {
            if closed >= count { return }
            await withCheckedContinuation { closeWaiters.append((count, $0)) }
        }
    }

    public let port: Int
    private let channel: any Channel
    private let state: State

    private init(channel: any Channel, port: Int, state: State) {
        self.channel = channel
        self.port = port
        self.state = state
    }

    /// The API root the model is configured with.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    public static func start() async throws -> ScriptedModelServer {
        let state = State()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedModelServer(channel: channel, port: channel.localAddress?.port ?? 0, state: state)
    }

    public func enqueue(_ steps: [Step]) async { await state.enqueue(steps) }

    public func requests() async -> [RecordedRequest] { await state.requests }

    /// Returns once `count` connections have been closed (by either side).
    public func waitForClosedConnections(_ count: Int) async { await state.waitForClosed(count) }

    public func stop() async throws {
        try await channel.close()
    }

    // MARK: Replies

    /// A `text/event-stream` reply: `transcript` cut into pieces of `pieceBytes` bytes (so pieces
    /// end anywhere: inside a line, an escape, a UTF-8 character or a CRLF), then `end`.
    public static func stream(_ transcript: String, pieceBytes: Int = 16, end: Step = .end) -> [Step] {
        let bytes = Array(transcript.utf8)
        let pieces = stride(from: 0, to: bytes.count, by: pieceBytes).map { Step.chunk(Array(bytes[$0..<min($0 + pieceBytes, bytes.count)])) }
        return [.head(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])] + pieces + [end]
    }

    /// A long OpenAI-style streamed answer, one chunk per token as a real model sends them: the role chunk, each
    /// token (`pace` apart, when given), `stop` and `[DONE]`. `after` runs a step after the token of that number
    /// (from 1), so a test can hold the answer at a point (`.waitUntil`) until it has done something.
    public static func tokenStream(_ tokens: [String], pace: Duration? = nil, after: [Int: Step] = [:]) -> [Step] {
        var steps: [Step] = [
            .head(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]),
            .chunk(Array(ProviderTranscripts.openAIChunk(#"{"role":"assistant","content":"","refusal":null}"#).utf8)),
        ]
        steps.reserveCapacity(tokens.count * 2 + 4)
        for (index, token) in tokens.enumerated() {
            if let pace { steps.append(.pause(pace)) }
            steps.append(.chunk(Array(ProviderTranscripts.openAIChunk(#"{"content":\#(ProviderTranscripts.quoted(token))}"#).utf8)))
            if let step = after[index + 1] { steps.append(step) }
        }
        steps.append(.chunk(Array((ProviderTranscripts.openAIChunk("{}", finish: "stop") + ProviderTranscripts.done).utf8)))
        steps.append(.end)
        return steps
    }

    /// An error status with a JSON body.
    public static func status(_ code: Int, body: String, headers: [(String, String)] = []) -> [Step] {
        [.head(status: code, headers: [("Content-Type", "application/json")] + headers), .chunk(Array(body.utf8)), .end]
    }

    fileprivate static func play(_ steps: [Step], on channel: any Channel) async {
        for step in steps {
            switch step {
            case .head(let status, let headers):
                var text = "HTTP/1.1 \(status) \(reason(status))\r\n"
                for (name, value) in headers { text += "\(name): \(value)\r\n" }
                text += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                try? await channel.writeAndFlush(ByteBuffer(string: text))
            case .chunk(let bytes):
                guard !bytes.isEmpty else { continue }
                var buffer = ByteBuffer(string: String(bytes.count, radix: 16) + "\r\n")
                buffer.writeBytes(bytes)
                buffer.writeString("\r\n")
                try? await channel.writeAndFlush(buffer)
            case .end:
                try? await channel.writeAndFlush(ByteBuffer(string: "0\r\n\r\n"))
                try? await channel.close()
            case .drop:
                try? await channel.close()
            case .hang:
                return
            case .waitUntil(let condition):
                await condition()
            case .pause(let duration):
                try? await Task.sleep(for: duration)
            }
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 401: "Unauthorized"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    // MARK: The socket side

    /// Reads one request (head and `Content-Length` body), records it and plays the reply.
    private final class RequestHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let state: State
        private var received: [UInt8] = []
        private var answered = false

        init(state: State) {
            self.state = state
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received += buffer.readableBytesView
            guard !answered, let request = Self.parse(received) else { return }
            answered = true
            let channel = context.channel
            let state = self.state
            Task { [state, channel, request] in
                let steps = await state.take(request)
                await ScriptedModelServer.play(steps, on: channel)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            let state = self.state
            Task { await state.connectionClosed() }
            context.fireChannelInactive()
        }

        /// The request once its head and body are complete, else nil.
        private static func parse(_ bytes: [UInt8]) -> RecordedRequest? {
            let separator: [UInt8] = Array("\r\n\r\n".utf8)
            guard let headEnd = bytes.firstRange(of: separator) else { return nil }
            let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let requestLine = lines.removeFirst().split(separator: " ")
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let body = bytes[headEnd.upperBound...]
            guard body.count >= length else { return nil }
            let text = String(decoding: body.prefix(length), as: UTF8.self)
            return RecordedRequest(
                method: requestLine.first.map(String.init) ?? "",
                path: requestLine.dropFirst().first.map(String.init) ?? "",
                headers: headers,
                body: (try? JSONValue.parse(text)) ?? .string(text)
            )
        }
    }
}
