import HeraldProtocol

/// Where a run's events go. `emit` returns once the event is handed on (for Redis: stored in the
/// event partition), so awaiting each emit keeps the run's events in order.
///
/// The execution engine, every agent and the tool dispatcher receive the sink in their
/// initialisers and keep it in a `let`: the pipeline cannot be built without one (run rule 9).
public protocol EventSink: Sendable {
    func emit(_ event: AgentEvent) async throws
}

extension EventSink {
    /// Emits `payload` as `agent`'s event in the given run, stamped with a new event id and the current time.
    func emit(_ payload: EventPayload, agent: String, in run: RunContext) async throws {
        try await emit(AgentEvent(threadID: run.input.threadID, runID: run.input.runID, agentName: agent, payload: payload))
    }
}
