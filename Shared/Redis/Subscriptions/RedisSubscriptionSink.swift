/// Where one subscription's events go: the stream a `RedisSubscription` reads, or the handler of a
/// `RedisPushSubscription`.
enum RedisSubscriptionSink: Sendable {
    /// A stream bounded by the subscriber's `bufferSize`.
    case stream(AsyncThrowingStream<RedisSubscriptionEvent, any Error>.Continuation)
    /// A handler called on the subscriber's event loop, which queues what it is given itself.
    case handler(@Sendable (RedisSubscriptionUpdate) -> Void)

    /// What became of a yielded event.
    enum YieldResult {
        case taken
        /// The stream's buffer was full: the subscription must end with `bufferOverflow`.
        case overflowed
        /// The stream's consumer is gone; its termination handler removes it.
        case gone
    }

    func yield(_ event: RedisSubscriptionEvent) -> YieldResult {
        switch self {
        case .stream(let continuation):
            switch continuation.yield(event) {
            case .enqueued: return .taken
            case .dropped: return .overflowed
            case .terminated: return .gone
            @unknown default: return .gone
            }
        case .handler(let handler):
            handler(.event(event))
            return .taken
        }
    }

    /// Ends the subscription, with `error` when it failed.
    func finish(throwing error: (any Error)? = nil) {
        switch self {
        case .stream(let continuation):
            continuation.finish(throwing: error)
        case .handler(let handler):
            handler(.ended(error))
        }
    }
}
