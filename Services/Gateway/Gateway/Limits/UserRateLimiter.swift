/// Each user's requests to the threads API on this gateway, limited like a connection's messages
/// (`HERALD_RATE_LIMIT_PER_SECOND`, `HERALD_RATE_LIMIT_BURST`): one `TokenBucket` per user.
///
/// A bucket that has refilled completely says nothing a new one would not, so buckets idle that long are
/// dropped once there are many: memory follows the users active in the last few seconds, not all users seen.
actor UserRateLimiter<Clock: _Concurrency.Clock> where Clock.Instant.Duration == Duration, Clock.Instant: Sendable {
    private let ratePerSecond: Int
    private let burst: Int
    private let clock: Clock
    private var buckets: [String: (bucket: TokenBucket<Clock.Instant>, lastUsed: Clock.Instant)] = [:]
    /// How many buckets are kept before idle ones are looked for.
    private let pruneThreshold: Int

    init(ratePerSecond: Int, burst: Int, clock: Clock, pruneThreshold: Int = 10_000) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.clock = clock
        self.pruneThreshold = pruneThreshold
    }

    /// Spends one of `userID`'s tokens; false when the user is over the limit.
    func take(for userID: String) -> Bool {
        let now = clock.now
        var entry = buckets[userID] ?? (TokenBucket(ratePerSecond: ratePerSecond, burst: burst, now: now), now)
        let allowed = entry.bucket.take(at: now)
        entry.lastUsed = now
        buckets[userID] = entry
        if buckets.count > pruneThreshold { prune(now: now) }
        return allowed
    }

    /// Users with a bucket now.
    var trackedUsers: Int { buckets.count }

    private func prune(now: Clock.Instant) {
        let refill = Duration.seconds(Double(burst) / Double(ratePerSecond))
        buckets = buckets.filter { $0.value.lastUsed.duration(to: now) < refill }
    }
}
