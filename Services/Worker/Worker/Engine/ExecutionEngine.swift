import HeraldProtocol
import Logging

/// Runs requests through the supervisor and its sub-agents, and guarantees the run rules on every
/// path: the supervisor's `agent_started` first; every agent closed once, nested; every tool call
/// completed; at most one `final_report`; exactly one terminal event, and nothing after it.
///
/// The engine wraps its sink so events are retried while the sink fails (`EmitRetryPolicy`) and
/// still delivered while the run is being cancelled. One engine can serve any number of runs.
public struct ExecutionEngine: Sendable {
    private let gate: RunEventGate
    private let supervisor: Supervisor
    public let configuration: EngineConfiguration
    private let logger: Logger

    public init(sink: any EventSink, model: any LanguageModel, tools: ToolRegistry, configuration: EngineConfiguration, logger: Logger) {
        let gate = RunEventGate(sink: RetryingEventSink(sink, policy: configuration.emitRetry, logger: logger))
        self.gate = gate
        self.supervisor = Supervisor(sink: gate, model: model, tools: tools, configuration: configuration)
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `input` to its terminal event. Cancel the calling task to cancel the run; record why in
    /// `control` first when it is not the user's cancellation.
    public func run(_ input: RunInput, control: RunControl = RunControl()) async -> RunOutcome {
        let outcome = await execute(input, control: control)
        await gate.finish(input.runID)
        return outcome
    }

    private func execute(_ input: RunInput, control: RunControl) async -> RunOutcome {
        var logger = self.logger
        logger[metadataKey: "run_id"] = "\(input.runID)"
        logger[metadataKey: "thread_id"] = "\(input.threadID)"
        let context = RunContext(input: input, control: control, logger: logger)

        do {
            try await gate.emit(
                .agentStarted(.init(agentName: AgentName.supervisor, input: input.startedInput)),
                agent: AgentName.supervisor,
                in: context
            )
        } catch {
            return .eventsLost(message: "\(error)")
        }

        let result = await supervise(context)
        let durationMs = context.elapsedMilliseconds
        let outcome: RunOutcome
        let closing: EventPayload
        switch result {
        case .success(let done):
            outcome = done.handoverTurns.isEmpty ? .completed(report: done.report) : .handedToClient(report: done.report, turns: done.handoverTurns)
            closing = .agentCompleted(
                .init(
                    agentName: AgentName.supervisor,
                    status: .success,
                    durationMs: durationMs,
                    result: ["tool_calls": .number(Double(done.toolCalls))]
                )
            )
        case .failure(let error as EventDeliveryError):
            return .eventsLost(message: "\(error)")
        case .failure(let error):
            if let stop = await RunStop.classify(error, control: control) {
                closing = stop.closing(agent: AgentName.supervisor, durationMs: durationMs)
                if case .agentError(let body) = closing {
                    outcome = .failed(code: body.code, message: body.message)
                } else {
                    outcome = .cancelled
                }
            } else {
                let failure = AgentFailure(describing: error)
                if failure.code == .internal {
                    logger.error("run failed unexpectedly", metadata: ["error": "\(error)"])
                }
                closing = .agentError(
                    .init(agentName: AgentName.supervisor, code: failure.code, message: failure.message, retryable: failure.retryable)
                )
                outcome = .failed(code: failure.code, message: failure.message)
            }
        }
        do {
            try await gate.emit(closing, agent: AgentName.supervisor, in: context)
        } catch {
            return .eventsLost(message: "\(error)")
        }
        return outcome
    }

    /// Announces a run that was cancelled before it started: the supervisor's `agent_started`
    /// and `agent_completed` `cancelled`, nothing else.
    public func runCancelledBeforeStart(_ input: RunInput) async -> RunOutcome {
        let context = RunContext(input: input, control: RunControl(), logger: logger)
        let outcome: RunOutcome
        do {
            try await gate.emit(
                .agentStarted(.init(agentName: AgentName.supervisor, input: input.startedInput)),
                agent: AgentName.supervisor,
                in: context
            )
            try await gate.emit(
                .agentCompleted(.init(agentName: AgentName.supervisor, status: .cancelled, durationMs: 0)),
                agent: AgentName.supervisor,
                in: context
            )
            outcome = .cancelled
        } catch {
            outcome = .eventsLost(message: "\(error)")
        }
        await gate.finish(input.runID)
        return outcome
    }

    /// Runs the supervisor against the run's time limit. When the limit is reached the work is
    /// cancelled with the reason `timeout`, and unwinds closing its agents as timed out.
    private func supervise(_ context: RunContext) async -> Result<SupervisorResult, any Error> {
        let supervisor = self.supervisor
        guard let limit = configuration.runTimeout else {
            do { return .success(try await supervisor.run(in: context)) } catch { return .failure(error) }
        }
        return await withTaskGroup(of: Result<SupervisorResult, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await supervisor.run(in: context)) } catch { return .failure(error) }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: limit)
                } catch {
                    return nil  // the run ended (or was cancelled) first
                }
                await context.control.stop(.timeout)
                return nil
            }
            while let next = await group.next() {
                if let result = next {
                    group.cancelAll()
                    return result
                }
                if await context.control.stopReason == .timeout {
                    // Stop the work; its result, closing events emitted, comes next.
                    group.cancelAll()
                }
            }
            return .failure(CancellationError())
        }
    }
}
