import HeraldProtocol

/// The engine's own view of the sink, which holds the run rules it can check at the source:
/// nothing after a run's terminal event, at most one `final_report` per run, and no further
/// attempts for a run once its delivery failed for good (so unwinding does not wait out the
/// retry policy once per open agent).
actor RunEventGate: EventSink {
    /// An agent tried to emit what the run rules forbid: a bug, which fails the run as `internal`.
    struct RuleBreach: Error, CustomStringConvertible {
        var description: String
    }

    private struct RunState {
        var terminated = false
        var reported = false
        var deliveryFailure: EventDeliveryError?
    }

    private let sink: any EventSink
    private var runs: [String: RunState] = [:]

    init(sink: any EventSink) {
        self.sink = sink
    }

    func emit(_ event: AgentEvent) async throws {
        var state = runs[event.runID] ?? RunState()
        if let failure = state.deliveryFailure { throw failure }
        guard !state.terminated else {
            throw RuleBreach(description: "\(event.type.rawValue) of \(event.agentName) after the run's terminal event")
        }
        if event.type == .finalReport {
            guard !state.reported else { throw RuleBreach(description: "a second final_report") }
            state.reported = true
        }
        if event.isRunTerminal { state.terminated = true }
        runs[event.runID] = state
        do {
            try await sink.emit(event)
        } catch let failure as EventDeliveryError {
            runs[event.runID]?.deliveryFailure = failure
            throw failure
        }
    }

    /// Drops what the gate knows about a run that has returned.
    func finish(_ runID: String) {
        runs[runID] = nil
    }
}
