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
        let parsed = try? JSONValue.parse(call.arguments.isEmpty ? "{}" : call.arguments)
        let arguments: JSONValue? = if case .object? = parsed { parsed } else { nil }
        try await sink.emit(
            .toolExecuting(.init(toolCallID: call.id, toolName: call.name, arguments: arguments ?? ["raw": .string(call.arguments)])),
            agent: agent,
            in: run
        )

        let clock = ContinuousClock()
        let start = clock.now
        let tool = tools.tool(named: call.name)
        let timeout = tool?.timeout ?? defaultTimeout
        let race: Race
        if let tool, let arguments {
            var logger = run.logger
            logger[metadataKey: "tool"] = "\(call.name)"
            logger[metadataKey: "tool_call_id"] = "\(call.id)"
            let context = ToolContext(runID: run.input.runID, threadID: run.input.threadID, toolCallID: call.id, logger: logger)
            race = await Self.race(tool, arguments: arguments, context: context, timeout: timeout)
        } else if tool == nil {
            race = .finished(.failure(ToolError("there is no tool named '\(call.name)'")))
        } else {
            race = .finished(.failure(ToolError("the arguments are not a JSON object: \(call.arguments.prefix(200))")))
        }
        let durationMs = (clock.now - start).milliseconds

        var outcome = ToolOutcome(call: call, status: .success, durationMs: durationMs)
        var broken: String?
        var cancelled = false
        if Task.isCancelled {
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

        try await sink.emit(
            .toolCompleted(
                .init(
                    toolCallID: call.id,
                    toolName: call.name,
                    status: outcome.status,
                    result: outcome.result,
                    error: outcome.error,
                    durationMs: durationMs
                )
            ),
            agent: agent,
            in: run
        )
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
