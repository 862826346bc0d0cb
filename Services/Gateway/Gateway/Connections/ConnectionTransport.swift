import NIOCore
import NIOWebSocket

/// Where a `Connection`'s frames go: a WebSocket, or a server-sent-event response (`SSETransport`).
///
/// The connection keeps the order, the bounded queue and the per-thread cursors; a transport only puts a batch on
/// the wire and says when the peer's socket took it, so a slow reader is cut off the same way on either.
protocol ConnectionTransport: Sendable {
    /// The loop of the underlying socket, for the connection's timers.
    var eventLoop: any EventLoop { get }

    /// Writes one batch in order; the future completes when the socket took all of it, or fails when it cannot.
    func write(_ batch: [Connection.Outgoing]) -> EventLoopFuture<Void>

    /// Drops the socket now, whatever is unsent.
    func abort()
}

/// A WebSocket's channel: each text as one text frame, a close as a close frame.
struct WebSocketTransport: ConnectionTransport {
    let channel: any Channel

    var eventLoop: any EventLoop { channel.eventLoop }

    func write(_ batch: [Connection.Outgoing]) -> EventLoopFuture<Void> {
        var frames: [WebSocketFrame] = []
        frames.reserveCapacity(batch.count)
        for item in batch {
            switch item {
            case .text(let text, _, _):
                // The frame's bytes are shared by every watcher: no per-connection copy or re-encoding.
                frames.append(WebSocketFrame(fin: true, opcode: .text, data: text))
            case .close(let code, let reason):
                var data = ByteBuffer()
                data.writeInteger(code)
                data.writeString(reason)
                frames.append(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
            }
        }
        let channel = self.channel
        guard !channel.eventLoop.inEventLoop else {
            // The connection runs on this loop: write now, no hand-off.
            return Self.write(frames, to: channel)
        }
        let written = frames
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute {
            Self.write(written, to: channel).cascade(to: promise)
        }
        return promise.futureResult
    }

    /// Writes and flushes the frames on the channel's loop; the future is the last write's.
    private static func write(_ frames: [WebSocketFrame], to channel: any Channel) -> EventLoopFuture<Void> {
        var last = channel.eventLoop.makeSucceededVoidFuture()
        for frame in frames {
            last = channel.write(frame)
        }
        channel.flush()
        return last
    }

    func abort() {
        channel.close(promise: nil)
    }
}
