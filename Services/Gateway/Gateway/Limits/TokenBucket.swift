/// A token bucket: holds up to `burst` tokens, gains `ratePerSecond` of them each second, and every
/// accepted message spends one. A plain value: the caller owns it and passes the time in, so tests
/// can drive it with any clock.
struct TokenBucket<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration, Instant: Sendable {
    let ratePerSecond: Double
    let burst: Double
    private(set) var tokens: Double
    private var refilledAt: Instant

    /// A full bucket at `now`.
    init(ratePerSecond: Int, burst: Int, now: Instant) {
        precondition(ratePerSecond > 0 && burst > 0, "a token bucket needs a positive rate and burst")
        self.ratePerSecond = Double(ratePerSecond)
        self.burst = Double(burst)
        self.tokens = Double(burst)
        self.refilledAt = now
    }

    /// Spends a token if one is there at `now`; false means the message is over the limit.
    mutating func take(at now: Instant) -> Bool {
        refill(at: now)
        // The tolerance keeps rounding from refusing a sender that keeps exactly to the rate.
        guard tokens >= 1 - 1e-9 else { return false }
        tokens = max(0, tokens - 1)
        return true
    }

    private mutating func refill(at now: Instant) {
        // A clock that steps back (or equal instants) adds nothing rather than taking tokens away.
        guard now > refilledAt else { return }
        tokens = min(burst, tokens + refilledAt.duration(to: now).seconds * ratePerSecond)
        refilledAt = now
    }
}
