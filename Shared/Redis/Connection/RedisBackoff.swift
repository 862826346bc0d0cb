/// Exponential backoff between failed connection attempts: `initial`, doubling up to `maximum`, with jitter.
public struct RedisBackoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(2)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The wait before the next attempt after `failures` consecutive failed ones (zero after none).
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        let doubled = initial * (1 << min(failures - 1, 20))
        let capped = min(doubled, maximum)
        // Jitter in [75%, 100%] keeps many clients that lost the same server from reconnecting in lockstep.
        return capped * Double.random(in: 0.75...1)
    }
}
