import HeraldProtocol
import Logging

/// Retries a failing sink with exponential backoff instead of dropping events, and delivers each
/// event even when the emitting task is cancelled: a cancelled run still has closing events to send.
///
/// An event is retried with the same `event_id`, so a write that reached Redis although its reply
/// was lost is dropped as a duplicate by the relay. When the policy's time runs out the emit throws
/// `EventDeliveryError`; the engine then stops the run without announcing its end, and the run's
/// lease lapses so the watchdog reports it `worker_lost`.
public struct RetryingEventSink: EventSink {
    public let base: any EventSink
    public let policy: EmitRetryPolicy
    private let logger: Logger

    public init(_ base: any EventSink, policy: EmitRetryPolicy, logger: Logger) {
        self.base = base
        self.policy = policy
        self.logger = logger
    }

    public func emit(_ event: AgentEvent) async throws {
        // An unstructured task does not inherit the caller's cancellation: delivery and its
        // backoff sleeps run to completion (bounded by the policy) even when the run was cancelled.
        let delivery = Task { [base, policy, logger] in
            try await Self.deliver(event, to: base, policy: policy, logger: logger)
        }
        try await delivery.value
    }

    private static func deliver(_ event: AgentEvent, to base: any EventSink, policy: EmitRetryPolicy, logger: Logger) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        var delay = policy.initialDelay
        var attempts = 0
        while true {
            attempts += 1
            do {
                try await base.emit(event)
                if attempts > 1 {
                    logger.notice(
                        "event delivered after retrying",
                        metadata: ["run_id": "\(event.runID)", "event_type": "\(event.type.rawValue)", "attempts": "\(attempts)"]
                    )
                }
                return
            } catch {
                let elapsed = clock.now - start
                guard elapsed + delay <= policy.maximumDuration else {
                    logger.error(
                        "giving up on an event",
                        metadata: [
                            "run_id": "\(event.runID)", "event_type": "\(event.type.rawValue)", "attempts": "\(attempts)", "error": "\(error)",
                        ]
                    )
                    throw EventDeliveryError(eventType: event.type, attempts: attempts, lastError: "\(error)")
                }
                if attempts == 1 {
                    logger.warning(
                        "event sink failed; retrying",
                        metadata: ["run_id": "\(event.runID)", "event_type": "\(event.type.rawValue)", "error": "\(error)"]
                    )
                }
                try await Task.sleep(for: delay)
                delay = policy.next(after: delay)
            }
        }
    }
}
