import Logging

/// Retries a Redis operation with exponential backoff for a bounded time (`HERALD_REDIS_RETRY_SECONDS`),
/// so a short outage delays a run's bookkeeping instead of losing it.
struct RedisRetry: Sendable {
    let maximumDuration: Duration
    let logger: Logger

    /// The operation's result, or nil when it still failed after `maximumDuration` (logged as an error).
    func run<T: Sendable>(_ what: String, metadata: Logger.Metadata = [:], _ operation: @Sendable () async throws -> T) async -> T? {
        let clock = ContinuousClock()
        let start = clock.now
        var delay = Duration.milliseconds(50)
        var attempts = 0
        while true {
            attempts += 1
            do {
                return try await operation()
            } catch {
                var details = metadata
                details["error"] = "\(error)"
                details["attempts"] = "\(attempts)"
                guard clock.now - start + delay <= maximumDuration else {
                    logger.error("gave up: \(what)", metadata: details)
                    return nil
                }
                if attempts == 1 {
                    logger.warning("retrying: \(what)", metadata: details)
                }
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    return nil
                }
                delay = min(delay * 2, .seconds(2))
            }
        }
    }
}
