import Foundation
import HeraldProtocol

/// Runs sub-agents under the supervisor: `agent_started`, the agent's work, then exactly one
/// `agent_completed` or `agent_error` of that agent, on every path (run rule 2).
public struct AgentRunner: Sendable {
    private let sink: any EventSink
    public let parent: String

    public init(sink: any EventSink, parent: String = AgentName.supervisor) {
        self.sink = sink
        self.parent = parent
    }

    /// Runs `agent`. A cancelled run closes the agent as its stop reason says and rethrows
    /// `CancellationError`; a failed one closes it with `agent_error` and throws the `AgentFailure`.
    public func execute<A: Agent>(_ agent: A, _ input: A.Input, in run: RunContext) async throws -> A.Output {
        // Do not start another agent once the run is being stopped.
        try Task.checkCancellation()
        try await sink.emit(.agentStarted(.init(agentName: agent.name, parentAgent: parent)), agent: agent.name, in: run)
        return try await close(agent, startedAt: Date(), in: run) { try await agent.run(input, in: run) }
    }

    /// Continues `agent`, started before the run paused (on this worker or another, at `startedAt`), with `work`: no
    /// second `agent_started`, and the one closing event as `execute` emits it.
    public func resume<A: Agent>(
        _ agent: A,
        startedAt: Date,
        in run: RunContext,
        _ work: () async throws -> A.Output
    ) async throws -> A.Output {
        try await close(agent, startedAt: startedAt, in: run, work)
    }

    /// Runs `work` and closes the agent after it, on every path but a pause: a paused run's agents stay open.
    private func close<A: Agent>(_ agent: A, startedAt: Date, in run: RunContext, _ work: () async throws -> A.Output) async throws -> A.Output {
        let clock = ContinuousClock()
        // Wall time, not the clock's: an agent continued on another worker counts from its start on the first.
        let start = clock.now - .milliseconds(max(0, Int(Date().timeIntervalSince(startedAt) * 1000)))
        do {
            let output = try await work()
            let durationMs = (clock.now - start).milliseconds
            try await sink.emit(
                .agentCompleted(.init(agentName: agent.name, status: .success, durationMs: durationMs, result: agent.summary(of: output))),
                agent: agent.name,
                in: run
            )
            return output
        } catch let error as EventDeliveryError {
            throw error
        } catch var paused as RunPaused {
            if paused.assistantStartedAt == nil, paused.agentName == agent.name { paused.assistantStartedAt = startedAt }
            throw paused
        } catch {
            let durationMs = (clock.now - start).milliseconds
            if let stop = await RunStop.classify(error, control: run.control) {
                try await sink.emit(stop.closing(agent: agent.name, durationMs: durationMs), agent: agent.name, in: run)
                throw CancellationError()
            }
            let failure = AgentFailure(describing: error)
            try await sink.emit(
                .agentError(.init(agentName: agent.name, code: failure.code, message: failure.message, retryable: failure.retryable)),
                agent: agent.name,
                in: run
            )
            throw failure
        }
    }
}
