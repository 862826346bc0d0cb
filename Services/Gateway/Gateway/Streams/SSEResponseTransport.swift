import HeraldProtocol
import HummingbirdCore
import NIOCore

/// A standard stream written through Hummingbird's response body: the way for a stream request that follows other
/// requests on a kept-alive connection, whose HTTP is already Hummingbird's (a connection's first request is served
/// by `StandardStreamHandler`, which keeps no task per stream).
///
/// The connection hands it batches as it would to a WebSocket; the response's body task (`stream`) takes them one
/// at a time, encodes and writes them, and only then says the batch was taken, so a reader that does not keep up
/// fills the connection's bounded queue and is cut off like a slow WebSocket.
final class SSEResponseTransport: ConnectionTransport {
    private enum Item: Sendable {
        case batch([Connection.Outgoing], EventLoopPromise<Void>)
        case heartbeat
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

    /// Writes the stream until the run ends (then its trailer), the connection closes it, or the client goes away; a
    /// comment line every `heartbeat` keeps proxies from timing out a quiet stream and notices a client that left.
    func stream(to writer: inout any ResponseBodyWriter, encoder: any StreamEventEncoder, trailer: String?, heartbeat: Duration) async {
        // A timer on the socket's event loop, not a sleeping task: an idle stream then keeps no task of its own.
        let interval = TimeAmount(heartbeat)
        let beats = channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [feed] task in
            if case .terminated = feed.yield(.heartbeat) { task.cancel() }
        }
        var pending = items.makeAsyncIterator()
        var encoder = encoder
        let end = await stream(from: &pending, to: &writer, encoder: &encoder)
        beats.cancel()
        feed.finish()
        if end == .finished, let trailer {
            try? await writer.write(ByteBuffer(string: trailer))
        }
        // Batches the connection handed over after the end are failed, not left hanging.
        while let item = await pending.next() {
            if case .batch(_, let promise) = item { promise.fail(ChannelError.ioOnClosedChannel) }
        }
    }

    private func stream(
        from pending: inout AsyncStream<Item>.Iterator,
        to writer: inout any ResponseBodyWriter,
        encoder: inout any StreamEventEncoder
    ) async -> StreamBatchEnd {
        while let item = await pending.next() {
            switch item {
            case .heartbeat:
                do {
                    try await writer.write(ByteBuffer(staticString: ": keep-alive\n\n"))
                } catch {
                    return .closed
                }
            case .batch(let batch, let promise):
                var bytes = ByteBuffer()
                let end = encoder.encode(batch, into: &bytes)
                do {
                    if bytes.readableBytes > 0 { try await writer.write(bytes) }
                    promise.succeed()
                } catch {
                    promise.fail(error)
                    return .closed
                }
                if end != .open { return end }
            }
        }
        return .closed
    }
}
