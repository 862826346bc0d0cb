import NIOCore

/// The messages of one channel for one consumer, from `RedisSubscriber.subscribe(_:)`.
///
/// Iterate it once. It ends when `unsubscribe()` is called, when its iterator is dropped, or when the subscriber
/// stops; it ends by throwing `RedisSubscriptionError.bufferOverflow` when its consumer falls behind by the
/// subscriber's `bufferSize` messages.
public struct RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisSubscriptionEvent

    public let channel: String
    let id: Int
    let stream: AsyncThrowingStream<RedisSubscriptionEvent, any Error>
    let subscriber: RedisSubscriber

    /// Yields the subscription's events; throws `RedisSubscriptionError.bufferOverflow` when it fell behind.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<RedisSubscriptionEvent, any Error>.AsyncIterator

        public mutating func next() async throws -> RedisSubscriptionEvent? {
            try await base.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator())
    }

    /// Ends this subscription; the channel is unsubscribed when no other subscription of it is left.
    public func unsubscribe() async {
        await subscriber.unsubscribe(channel, id: id)
    }
}

/// A subscription whose events go to a handler, from `RedisSubscriber.subscribe(_:handler:)`: no task waits on it,
/// which matters to a consumer of many channels that are mostly quiet.
public struct RedisPushSubscription: Sendable {
    public let channel: String
    let id: Int
    let subscriber: RedisSubscriber

    /// Ends this subscription (its handler is told `.ended(nil)`); the channel is unsubscribed when no other
    /// subscription of it is left.
    public func unsubscribe() async {
        await subscriber.unsubscribe(channel, id: id)
    }
}
