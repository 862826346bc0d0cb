/// How long emitting one event is retried while the sink fails (`HERALD_REDIS_RETRY_SECONDS`).
public struct EmitRetryPolicy: Sendable, Equatable {
    /// Give up on an event once this much time has passed since its first attempt.
    public var maximumDuration: Duration
    public var initialDelay: Duration
    public var maximumDelay: Duration

    public init(maximumDuration: Duration = .seconds(30), initialDelay: Duration = .milliseconds(50), maximumDelay: Duration = .seconds(2)) {
        self.maximumDuration = maximumDuration
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The delay after `delay`: doubled, capped at `maximumDelay`.
    func next(after delay: Duration) -> Duration {
        min(delay * 2, maximumDelay)
    }
}
