import NIOCore

/// What a `RedisSubscription` yields.
public enum RedisSubscriptionEvent: Sendable, Hashable {
    /// A message published on the channel.
    case message(ByteBuffer)
    /// The subscription is live again after a time in which messages may have been missed (the connection was lost
    /// and restored, or the subscription was made while the subscriber was not connected): catch up from history.
    case resubscribed
}

/// Why a subscription ended with an error.
public enum RedisSubscriptionError: Error, Sendable, Hashable {
    /// The consumer fell `bufferSize` messages behind its publisher; the subscription ended. Subscribe again and
    /// catch up from history.
    case bufferOverflow(channel: String)
}

/// What the handler of a `RedisPushSubscription` is told, in order, on the subscriber's event loop.
public enum RedisSubscriptionUpdate: Sendable {
    /// A message, or word that the subscription is live again after it may have missed some.
    case event(RedisSubscriptionEvent)
    /// The subscription ended: it was unsubscribed or the subscriber stopped (nil), or Redis never confirmed it.
    case ended((any Error)?)
}
