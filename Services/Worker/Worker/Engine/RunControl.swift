/// Why a run is being stopped before it finished. Whoever cancels a run's task records the reason
/// first, and the engine reads it while unwinding to choose the closing events.
public actor RunControl {
    /// Why the run stops, which decides how its open agents close.
    public enum StopReason: Sendable, Equatable {
        /// The user cancelled: open agents and the supervisor end with `agent_completed` `cancelled`.
        case cancelled
        /// The run exceeded its time limit: they end with `agent_error` `timeout`.
        case timeout
        /// The worker is shutting down: they end with `agent_error` `cancelled`, retryable.
        case shutdown
    }

    public private(set) var stopReason: StopReason?

    public init() {}

    /// Records why the run stops; the first reason given wins.
    public func stop(_ reason: StopReason) {
        if stopReason == nil { stopReason = reason }
    }
}
