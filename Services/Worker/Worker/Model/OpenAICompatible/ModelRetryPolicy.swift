/// How a model request is tried again after a transient failure before its first token
/// (HTTP 408, 429, 5xx, a connection that could not be made or closed at once): exponential
/// backoff with jitter, or the server's `Retry-After`, never longer than `maximumDelay`.
public struct ModelRetryPolicy: Sendable, Equatable {
    /// Attempts after the first (`HERALD_LLM_MAX_RETRIES`).
    public var maximumRetries: Int
    /// The pause before the first retry, doubled for each further one (`HERALD_LLM_RETRY_INITIAL_DELAY_MS`).
    public var initialDelay: Duration
    /// The longest pause, also for a longer `Retry-After` (`HERALD_LLM_RETRY_MAX_DELAY_SECONDS`).
    public var maximumDelay: Duration

    public init(maximumRetries: Int = 2, initialDelay: Duration = .milliseconds(500), maximumDelay: Duration = .seconds(20)) {
        self.maximumRetries = maximumRetries
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The pause before retry number `retry` (1 for the first). With `retryAfter` that pause,
    /// capped; else `initialDelay × 2^(retry-1)`, capped, of which a random half to all is taken,
    /// so workers that failed together do not come back together.
    public func delay(beforeRetry retry: Int, retryAfter: Duration?, jitter: Double = Double.random(in: 0.5...1)) -> Duration {
        if let retryAfter {
            return min(max(retryAfter, .zero), maximumDelay)
        }
        let doublings = min(max(retry - 1, 0), 30)
        let exponential = min(initialDelay * (1 << doublings), maximumDelay)
        return exponential * min(max(jitter, 0), 1)
    }

    /// The seconds of a `Retry-After` header; nil for an HTTP date or anything else unreadable.
    public static func retryAfter(header: String?) -> Duration? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), let seconds = Int(text), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }
}
