import HeraldProtocol
import HummingbirdCore
import NIOCore

/// A server-sent-event response as a `Connection`'s transport.
///
/// The connection hands it batches as it would to a WebSocket; the response's body task (`stream`) takes them one
/// at a time, turns the Herald event frames into the standard's events with its encoder, writes them, and only then
/// says the batch was taken, so a reader that does not keep up fills the connection's bounded queue and is cut off
/// like a slow WebSocket. Replies meant for `/ws` (`run_queued`, `resumed`, …) are not part of these streams.
final class SSETransport: ConnectionTransport {
    private enum Item: Sendable {
        case batch([Connection.Outgoing], EventLoopPromise<Void>)
        case heartbeat
    }

    /// Why the stream ended.
    enum Ending: Sendable, Equatable {
        /// The run's last event was sent.
        case finished
        /// The connection closed it first (shutdown, slow consumer) or dropped it.
        case closed
        /// The client went away.
        case clientGone
    }

    private let channel: any Channel
    private let items: AsyncStream<Item>
    private let feed: AsyncStream<Item>.Continuation

    init(channel: any Channel) {
        self.channel = channel
        (items, feed) = AsyncStream<Item>.makeStream()
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    func write(_ batch: [Connection.Outgoing]) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        if case .terminated = feed.yield(.batch(batch, promise)) {
            promise.fail(ChannelError.ioOnClosedChannel)
        }
        return promise.futureResult
    }

    func abort() {
        feed.finish()
        channel.close(promise: nil)
    }

    /// Writes the stream until the run ends, the connection closes it, or the client goes away; a comment line every
    /// `heartbeat` keeps proxies from timing out a quiet stream and notices a client that left.
    func stream(to writer: inout any ResponseBodyWriter, encoder: inout some StreamEventEncoder, heartbeat: Duration) async -> Ending {
        // A timer on the socket's event loop, not a sleeping task: an idle stream then keeps no task of its own.
        let interval = TimeAmount(heartbeat)
        let beats = channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [feed] task in
            if case .terminated = feed.yield(.heartbeat) { task.cancel() }
        }
        var pending = items.makeAsyncIterator()
        let ending = await stream(from: &pending, to: &writer, encoder: &encoder)
        beats.cancel()
        feed.finish()
        // Batches the connection handed over after the end are failed, not left hanging.
        while let item = await pending.next() {
            if case .batch(_, let promise) = item { promise.fail(ChannelError.ioOnClosedChannel) }
        }
        return ending
    }

    private func stream(
        from pending: inout AsyncStream<Item>.Iterator, to writer: inout any ResponseBodyWriter, encoder: inout some StreamEventEncoder
    ) async -> Ending {
        while let item = await pending.next() {
            switch item {
            case .heartbeat:
                do {
                    try await writer.write(ByteBuffer(staticString: ": keep-alive\n\n"))
                } catch {
                    return .clientGone
                }
            case .batch(let batch, let promise):
                var bytes = ByteBuffer()
                var closed = false
                for case let entry in batch where !encoder.isFinished && !closed {
                    switch entry {
                    case .text(let text, true, _):
                        if let frame = try? EventFrame.decode(String(buffer: text)) {
                            encoder.encode(frame, into: &bytes)
                        }
                    case .text:
                        continue
                    case .close:
                        closed = true
                    }
                }
                do {
                    if bytes.readableBytes > 0 { try await writer.write(bytes) }
                    promise.succeed()
                } catch {
                    promise.fail(error)
                    return .clientGone
                }
                if encoder.isFinished { return .finished }
                if closed { return .closed }
            }
        }
        return .closed
    }
}
