import Foundation
import HeraldCore
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
    private let suspender: any RunSuspender
    private let supervisor: Supervisor
    public let configuration: EngineConfiguration
    private let logger: Logger

    /// - Parameters:
    ///   - suspender: where runs that wait for approval go.
    public init(
        sink: any EventSink,
        suspender: any RunSuspender,
        model: any LanguageModel,
        tools: ToolRegistry,
        configuration: EngineConfiguration,
        logger: Logger
    ) {
        let gate = RunEventGate(sink: RetryingEventSink(sink, policy: configuration.emitRetry, logger: logger))
        self.gate = gate
        self.suspender = suspender
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

    /// Continues a run paused for approval once `verdict` was taken, on this worker or any other, to its terminal
    /// event (or its next pause). Cancel the calling task to cancel the run, as with `run`.
    public func resume(_ paused: PausedRun, after verdict: ApprovalVerdict, control: RunControl = RunControl()) async -> RunOutcome {
        let startedAt = HeraldTimestamp.parse(paused.startedAt) ?? Date()
        let elapsed = Duration.milliseconds(max(0, Int(Date().timeIntervalSince(startedAt) * 1000)))
        let context = RunContext(input: paused.input, control: control, startedAt: .now - elapsed, logger: runLogger(paused.input))
        let supervisor = self.supervisor
        let outcome = await conclude(context, startedAt: startedAt) { try await supervisor.resume(paused, after: verdict, in: context) }
        await gate.finish(paused.input.runID)
        return outcome
    }

    private func runLogger(_ input: RunInput) -> Logger {
        var logger = self.logger
        logger[metadataKey: "run_id"] = "\(input.runID)"
        logger[metadataKey: "thread_id"] = "\(input.threadID)"
        return logger
    }

    private func execute(_ input: RunInput, control: RunControl) async -> RunOutcome {
        let context = RunContext(input: input, control: control, logger: runLogger(input))
        let startedAt = Date()
        do {
            try await gate.emit(
                .agentStarted(.init(agentName: AgentName.supervisor, input: input.startedInput)),
                agent: AgentName.supervisor,
                in: context
            )
        } catch {
            return .eventsLost(message: "\(error)")
        }
        let supervisor = self.supervisor
        return await conclude(context, startedAt: startedAt) { try await supervisor.run(in: context) }
    }

    /// Runs the supervisor's `work` and ends the run as it went: the terminal event, or a pause.
    private func conclude(
        _ context: RunContext,
        startedAt: Date,
        _ work: @escaping @Sendable () async throws -> SupervisorResult
    ) async -> RunOutcome {
        let control = context.control
        let logger = context.logger
        let result = await supervise(context, work)
        if case .failure(let paused as RunPaused) = result {
            return await suspend(paused, context: context, startedAt: startedAt)
        }
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

    /// Stores the paused run and announces its approval request, retrying while Redis fails like an event; a run that
    /// cannot be stored is left to lapse like one whose events cannot be delivered.
    private func suspend(_ paused: RunPaused, context: RunContext, startedAt: Date) async -> RunOutcome {
        let now = Date()
        let run = PausedRun(
            input: RunInput(
                runID: context.input.runID,
                threadID: context.input.threadID,
                userID: context.input.userID,
                message: context.input.message,
                clientMessageID: context.input.clientMessageID,
                clientTools: context.input.clientTools,
                toolResults: context.input.toolResults
            ),
            startedAt: HeraldTimestamp.format(startedAt),
            assistantStartedAt: HeraldTimestamp.format(paused.assistantStartedAt ?? now),
            assistant: paused.assistant,
            approval: .init(
                approvalID: Identifier.make("apr"),
                toolCallID: paused.toolCall.id,
                toolName: paused.toolCall.name,
                agentName: paused.agentName,
                arguments: paused.arguments,
                requestedAt: HeraldTimestamp.format(now),
                expiresAt: HeraldTimestamp.format(now.addingTimeInterval(Double(configuration.approvalTimeout.milliseconds) / 1000))
            )
        )
        let policy = configuration.emitRetry
        let clock = ContinuousClock()
        let start = clock.now
        var delay = policy.initialDelay
        while true {
            do {
                try await suspender.suspend(run)
                context.logger.info(
                    "run paused for approval",
                    metadata: ["approval_id": "\(run.approval.approvalID)", "tool": "\(run.approval.toolName)"]
                )
                return .paused(approvalID: run.approval.approvalID)
            } catch {
                guard clock.now - start + delay <= policy.maximumDuration else {
                    return .eventsLost(message: "cannot pause the run for approval: \(error)")
                }
                context.logger.warning("cannot pause the run for approval; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = policy.next(after: delay)
            }
        }
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
    private func supervise(
        _ context: RunContext,
        _ work: @escaping @Sendable () async throws -> SupervisorResult
    ) async -> Result<SupervisorResult, any Error> {
        guard let limit = configuration.runTimeout else {
            do { return .success(try await work()) } catch { return .failure(error) }
        }
        return await withTaskGroup(of: Result<SupervisorResult, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await work()) } catch { return .failure(error) }
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
