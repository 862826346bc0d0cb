/// When the gateway fetches an identity provider's keys (JWKS) again: on an interval; sooner after a failure (backing
/// off from 1 s to the interval); and for a token whose `kid` it does not know, at most once per `minimumGap`, so a
/// rotated key works at once and a flood of made-up `kid`s costs one fetch per gap.
struct JWKSRefreshSchedule: Sendable {
    let interval: Duration
    let minimumGap: Duration
    private(set) var lastAttempt: ContinuousClock.Instant?
    private(set) var consecutiveFailures = 0

    init(interval: Duration, minimumGap: Duration) {
        self.interval = interval
        self.minimumGap = minimumGap
    }

    /// When the next fetch of the interval (or of the backoff after a failure) is due; now if none was made.
    func nextScheduledFetch(after now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        guard let lastAttempt else { return now }
        guard consecutiveFailures > 0 else { return lastAttempt + interval }
        let backoff = Duration.seconds(1 << min(consecutiveFailures - 1, 16))
        return lastAttempt + min(backoff, interval)
    }

    /// Whether a token with an unknown `kid` may cause a fetch at `now`.
    func mayFetchForUnknownKey(at now: ContinuousClock.Instant) -> Bool {
        guard let lastAttempt else { return true }
        return now - lastAttempt >= minimumGap
    }

    mutating func fetched(at now: ContinuousClock.Instant, succeeded: Bool) {
        lastAttempt = now
        consecutiveFailures = succeeded ? 0 : consecutiveFailures + 1
    }
}
