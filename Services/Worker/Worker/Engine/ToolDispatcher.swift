import HeraldProtocol
import Logging

/// Runs the model's tool calls, each bracketed by `tool_executing` and exactly one `tool_completed`,
/// whether the tool succeeds, fails, times out or the run is cancelled (run rule 3).
public struct ToolDispatcher: Sendable {
    /// A tool that failed in a way it did not mean to (any error but `ToolError`): the run fails with `tool_failed`.
    struct BrokenTool: Error {
        var message: String
    }

    private let sink: any EventSink
    public let tools: ToolRegistry
    /// Time limit of a call to a tool without its own (`HERALD_TOOL_TIMEOUT_SECONDS`).
    public let defaultTimeout: Duration

    public init(sink: any EventSink, tools: ToolRegistry, defaultTimeout: Duration) {
        self.sink = sink
        self.tools = tools
        self.defaultTimeout = defaultTimeout
    }

    private enum Race: Sendable {
        case finished(Result<JSONValue, any Error>)
        case timedOut
    }

    /// Runs `call` for `agent`. Throws `CancellationError` after reporting the call cancelled,
    /// `AgentFailure` (`tool_failed`) after reporting a broken tool, and delivery errors as they come.
    public func dispatch(_ call: ModelToolCall, agent: String, in run: RunContext) async throws -> ToolOutcome {
        let call = canonical(call)
        let arguments = try await announce(call, agent: agent, in: run)
        return try await perform(call, arguments: arguments, agent: agent, in: run)
    }

    /// Whether `call` must wait for a person's approval before it runs: a tool that needs it, called with arguments
    /// it can run with (a call that cannot run fails at once, with nothing to approve).
    public func requiresApproval(_ call: ModelToolCall) -> Bool {
        tools.requiresApproval(call.name) && Self.arguments(of: call) != nil
    }

    /// Emits the call's `tool_executing`; returns its arguments, nil when they are not a JSON object.
    public func announce(_ call: ModelToolCall, agent: String, in run: RunContext) async throws -> JSONValue? {
        let call = canonical(call)
        let arguments = Self.arguments(of: call)
        try await sink.emit(
            .toolExecuting(.init(toolCallID: call.id, toolName: call.name, arguments: arguments ?? ["raw": .string(call.arguments)])),
            agent: agent,
            in: run
        )
        return arguments
    }

    /// Ends a call that waited for approval, as `verdict` decides: approved, it runs (with the arguments as approved);
    /// denied or expired, it completes `denied`; cancelled, it completes `cancelled` and the run stops.
    public func complete(_ call: ModelToolCall, after verdict: ApprovalVerdict, agent: String, in run: RunContext) async throws -> ToolOutcome {
        let call = canonical(call)
        var note: String?
        if verdict.argumentsEdited { note = "the user edited the arguments before approving; the tool ran with \(verdict.arguments.jsonString())" }
        if let reason = verdict.reason { note = [note, "the user said: \(reason)"].compactMap { $0 }.joined(separator: "; ") }
        switch verdict.decision {
        case .approved:
            var outcome = try await perform(call, arguments: verdict.arguments, agent: agent, in: run)
            outcome.approvalNote = note
            return outcome
        case .denied, .expired:
            let error =
                verdict.decision == .expired
                ? "nobody approved the call in time, so it did not run" : "the user denied the call, so it did not run"
            var outcome = ToolOutcome(call: call, status: .denied, error: error, durationMs: 0)
            outcome.approvalNote = note
            try await emitCompletion(outcome, agent: agent, in: run)
            return outcome
        case .cancelled:
            await run.control.stop(.cancelled)
            let outcome = ToolOutcome(call: call, status: .cancelled, error: "the run was cancelled", durationMs: 0)
            try await emitCompletion(outcome, agent: agent, in: run)
            throw CancellationError()
        }
    }

    /// The call under its tool's own name: the model may call a tool by the name it was told (`ToolNames`), and events
    /// carry the tool's name.
    func canonical(_ call: ModelToolCall) -> ModelToolCall {
        guard let tool = tools.tool(named: call.name), tool.name != call.name else { return call }
        var renamed = call
        renamed.name = tool.name
        return renamed
    }

    private static func arguments(of call: ModelToolCall) -> JSONValue? {
        let parsed = try? JSONValue.parse(call.arguments.isEmpty ? "{}" : call.arguments)
        if case .object? = parsed { return parsed }
        return nil
    }

    /// Runs an announced call against its time limit and emits its `tool_completed`.
    private func perform(_ call: ModelToolCall, arguments: JSONValue?, agent: String, in run: RunContext) async throws -> ToolOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let tool = tools.tool(named: call.name)
        let timeout = tool?.timeout ?? defaultTimeout
        let race: Race
        let stopping = await run.control.stopReason != nil
        if stopping || Task.isCancelled {
            // The run is being stopped (a cancellation that came while the call waited for approval): do not start it.
            race = .finished(.failure(CancellationError()))
        } else if let tool, let arguments {
            var logger = run.logger
            logger[metadataKey: "tool"] = "\(call.name)"
            logger[metadataKey: "tool_call_id"] = "\(call.id)"
            let context = ToolContext(
                runID: run.input.runID,
                threadID: run.input.threadID,
                userID: run.input.userID,
                toolCallID: call.id,
                logger: logger
            )
            race = await Self.race(tool, arguments: arguments, context: context, timeout: timeout)
        } else if tool == nil {
            race = .finished(.failure(ToolError("there is no tool named '\(call.name)'")))
        } else {
            race = .finished(.failure(ToolError("the arguments are not a JSON object: \(call.arguments.prefix(200))")))
        }
        let durationMs = (clock.now - start).milliseconds

        var outcome = ToolOutcome(call: call, status: .success, durationMs: durationMs)
        if let arguments, arguments.jsonString() != Self.arguments(of: call)?.jsonString() {
            // A person edited them: the outcome (and the report) shows what the tool ran with.
            outcome.call.arguments = arguments.jsonString()
        }
        var broken: String?
        var cancelled = false
        if stopping || Task.isCancelled {
            cancelled = true
            if await run.control.stopReason == .timeout {
                outcome.status = .timeout
                outcome.error = "the run's time limit was reached"
            } else {
                outcome.status = .cancelled
                outcome.error = "the run was cancelled"
            }
        } else {
            switch race {
            case .timedOut:
                outcome.status = .timeout
                outcome.error = "timed out after \(Self.describe(timeout))"
            case .finished(.success(let value)):
                outcome.result = value
            case .finished(.failure(let error as ToolError)):
                outcome.status = .error
                outcome.error = error.message
            case .finished(.failure(let error)):
                outcome.status = .error
                outcome.error = error is CancellationError ? "the tool stopped by itself" : "\(error)"
                broken = outcome.error
            }
        }

        try await emitCompletion(outcome, agent: agent, in: run)
        run.logger.debug(
            "tool call ended",
            metadata: [
                "tool": "\(call.name)", "tool_call_id": "\(call.id)", "status": "\(outcome.status.rawValue)", "duration_ms": "\(durationMs)",
            ]
        )

        if cancelled { throw CancellationError() }
        if let broken { throw AgentFailure(.toolFailed, "the \(call.name) tool failed: \(broken)", retryable: true) }
        return outcome
    }

    private func emitCompletion(_ outcome: ToolOutcome, agent: String, in run: RunContext) async throws {
        try await sink.emit(
            .toolCompleted(
                .init(
                    toolCallID: outcome.call.id,
                    toolName: outcome.call.name,
                    status: outcome.status,
                    result: outcome.result,
                    error: outcome.error,
                    durationMs: outcome.durationMs
                )
            ),
            agent: agent,
            in: run
        )
    }

    /// Hands a call of a client tool to the client: `tool_executing`, then `tool_completed` `success` whose result
    /// says the client has it (`ClientToolHandover.result`), so every call is still paired (run rule 3) while the
    /// client runs it after the run ends.
    public func handOver(_ call: ModelToolCall, agent: String, in run: RunContext) async throws {
        let parsed = try? JSONValue.parse(call.arguments.isEmpty ? "{}" : call.arguments)
        let arguments: JSONValue = if case .object? = parsed { parsed ?? [:] } else { ["raw": .string(call.arguments)] }
        try await sink.emit(.toolExecuting(.init(toolCallID: call.id, toolName: call.name, arguments: arguments)), agent: agent, in: run)
        try await sink.emit(
            .toolCompleted(.init(toolCallID: call.id, toolName: call.name, status: .success, result: ClientToolHandover.result, durationMs: 0)),
            agent: agent,
            in: run
        )
    }

    /// Runs the tool against its time limit. The tool runs as a child task, so cancelling the run
    /// cancels it too; when the time is up it is cancelled and awaited, which a tool honouring
    /// cancellation makes immediate.
    private static func race(_ tool: any Tool, arguments: JSONValue, context: ToolContext, timeout: Duration) async -> Race {
        await withTaskGroup(of: Race?.self) { group in
            group.addTask {
                do {
                    return .finished(.success(try await tool.run(arguments: arguments, context: context)))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timedOut
                } catch {
                    return nil  // cancelled: the tool finished first, or the run was cancelled
                }
            }
            var first: Race = .finished(.failure(CancellationError()))
            while let next = await group.next() {
                if let next {
                    first = next
                    break
                }
            }
            group.cancelAll()
            return first
        }
    }

    static func describe(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
