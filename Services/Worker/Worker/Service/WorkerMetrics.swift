import HeraldProtocol
import Prometheus

/// The worker's metrics, registered with help text on the process's Prometheus registry.
public struct WorkerMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    let runsStarted: Counter
    let runsCompleted: Counter
    let runsCancelled: Counter
    let activeRuns: Gauge
    let runDuration: DurationHistogram
    let redisErrors: Counter
    let runsPaused: Gauge
    let pauses: Counter
    let approvalDecisionTime: DurationHistogram

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        runsStarted = registry.makeCounter(descriptor: Self.name("runs_started", "total", "Runs this worker took off the queue and started"))
        runsCompleted = registry.makeCounter(
            descriptor: Self.name("runs_completed", "total", "Runs that ended with the supervisor's agent_completed success")
        )
        runsCancelled = registry.makeCounter(descriptor: Self.name("runs_cancelled", "total", "Runs that ended cancelled by the user"))
        activeRuns = registry.makeGauge(descriptor: Self.name("active_runs", "", "Runs executing now"))
        runDuration = registry.makeDurationHistogram(
            descriptor: Self.name("run_duration", "seconds", "Time from taking a run to its terminal event"),
            buckets: [
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
                .seconds(30), .seconds(60), .seconds(300),
            ]
        )
        runsPaused = registry.makeGauge(
            descriptor: Self.name("runs_paused", "", "Runs of the deployment waiting for a person's approval (as of this worker's last sweep)")
        )
        pauses = registry.makeCounter(descriptor: Self.name("run_pauses", "total", "Times a run this worker held paused for approval"))
        approvalDecisionTime = registry.makeDurationHistogram(
            descriptor: Self.name("approval_decision", "seconds", "Time from an approval request to its decision, per continued run"),
            buckets: [
                .seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600), .seconds(1800),
                .seconds(3600),
            ]
        )
        redisErrors = registry.makeCounter(
            descriptor: Self.name("redis_errors", "total", "Failed reads of the run queue (Redis unreachable or refusing)")
        )
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "herald", subsystem: "worker", metricName: metric, unitName: unit, helpText: help)
    }

    /// Counts a decision on an approval as the run continues from it, and how long the person took.
    func recordDecision(_ decision: ApprovalDecision, after wait: Duration) {
        approvalDecisionTime.record(wait)
        registry.makeCounter(
            descriptor: Self.name("approval_decisions", "total", "Approval requests decided, by decision"),
            labels: [("decision", decision.rawValue)]
        ).increment()
    }

    /// Counts a run's end by its outcome; failures by `agent_error` code (`events_lost` when the end could not be announced).
    func record(_ outcome: RunOutcome, duration: Duration) {
        if case .paused = outcome {
            // Not an end: the run goes on once decided, on any worker.
            pauses.increment()
            return
        }
        runDuration.record(duration)
        switch outcome {
        case .paused: break
        case .completed, .handedToClient: runsCompleted.increment()
        case .cancelled: runsCancelled.increment()
        case .failed(let code, _): failures(code.rawValue).increment()
        case .eventsLost: failures("events_lost").increment()
        }
    }

    private func failures(_ code: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("runs_failed", "total", "Runs that ended with the supervisor's agent_error, by code"),
            labels: [("code", code)]
        )
    }
}
