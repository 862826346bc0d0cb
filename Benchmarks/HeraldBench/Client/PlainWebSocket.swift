import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket

/// A WebSocket subscriber that speaks no protocol of its own: every text frame goes to a callback with its receipt
/// time. The path benchmark's nchan subscribers use it; `BenchSocket` is the same for Herald's `herald.v1`.
final class PlainWebSocket: Sendable {
    private let outbound: WebSocketOutboundWriter
    private let task: Task<WebSocketCloseFrame?, any Error>

    private init(outbound: WebSocketOutboundWriter, task: Task<WebSocketCloseFrame?, any Error>) {
        self.outbound = outbound
        self.task = task
    }

    /// Connects to `url` and returns once the upgrade is done.
    static func connect(url: String, logger: Logger, onFrame: @escaping BenchSocket.FrameHandler) async throws -> PlainWebSocket {
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24, closeTimeout: .seconds(5))
        let (ready, readyContinuation) = AsyncThrowingStream<WebSocketOutboundWriter, any Error>.makeStream()
        let client = WebSocketClient(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
            readyContinuation.yield(outbound)
            readyContinuation.finish()
            var iterator = inbound.makeAsyncIterator()
            var messages = WebSocketMessageAssembler()
            while let frame = try await iterator.next() {
                let received = WallClock.now()
                if let data = messages.append(frame) { onFrame(data, received) }
            }
        }
        let (outbound, task) = try await WebSocketMessageAssembler.run(client, until: (ready, readyContinuation)) { _ in
            PathError("\(url) closed before the upgrade")
        }
        return PlainWebSocket(outbound: outbound, task: task)
    }

    /// Closes normally and waits (up to the close timeout) for the connection to end.
    func close() async {
        try? await outbound.close(.normalClosure, reason: nil)
        _ = try? await task.value
    }
}
