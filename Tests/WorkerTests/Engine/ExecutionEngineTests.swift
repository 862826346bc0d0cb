import HeraldCore
import HeraldProtocol
import Testing

@testable import Worker

/// A tool that fails the way a bug would: an error that is not a `ToolError`.
private struct BrokenCalculator: Tool {
    struct Boom: Error, CustomStringConvertible {
        var description: String { "the tool crashed" }
    }
    let name = "calculator"
    let description = "always breaks"
    let parameters: JSONValue = ["type": "object"]
    func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue { throw Boom() }
}

/// A tool that never answers by itself and has a short time limit.
private struct SlowWait: Tool {
    let name = "wait"
    let description = "waits far longer than its time limit"
    let parameters: JSONValue = ["type": "object"]
    let timeout: Duration? = .milliseconds(50)
    func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        try await Task.sleep(for: .seconds(3600))
        return [:]
    }
}

/// A model whose provider is down.
private struct UnreachableModel: LanguageModel {
    let name = "unreachable"
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        AsyncThrowingStream { $0.finish(throwing: ModelError("connection refused")) }
    }
}

@Suite("Execution engine", .timeLimit(.minutes(2)))
struct ExecutionEngineTests {
    private func payloads(_ sink: CollectingEventSink) async -> [(String, EventPayload)] {
        await sink.events.map { ($0.agentName, $0.payload) }
    }

    private func toolCompletions(_ sink: CollectingEventSink) async -> [EventPayload.ToolCompleted] {
        await sink.events.compactMap { if case .toolCompleted(let body) = $0.payload { body } else { nil } }
    }

    private func terminal(_ sink: CollectingEventSink) async -> AgentEvent? {
        await sink.events.last(where: \.isRunTerminal)
    }

    @Test("what is (17*3)+4? runs triage, assistant and reporting, calls the calculator and reports 55")
    func calculation() async throws {
        let sink = CollectingEventSink()
        let outcome = await TestSupport.engine(sink: sink).run(TestSupport.input("what is (17*3)+4?"))
        #expect(await TestSupport.violations(sink) == [])
        #expect(outcome == .completed(report: "(17*3)+4 = 55"))

        let events = await sink.events
        #expect(events.first?.agentName == AgentName.supervisor)
        #expect(events.filter { $0.type == .agentStarted }.map(\.agentName) == ["supervisor", "triage", "assistant", "reporting"])
        let thinking = events.compactMap { if case .agentThinking(let body) = $0.payload, $0.agentName == "triage" { body.thought } else { nil } }
        #expect(thinking == ["This needs the calculator for (17*3)+4."])
        let executing = events.compactMap { if case .toolExecuting(let body) = $0.payload { body } else { nil } }
        #expect(executing.map(\.toolName) == ["calculator"])
        #expect(executing.first?.arguments == ["expression": "(17*3)+4"])
        let completed = await toolCompletions(sink)
        #expect(completed.map(\.status) == [.success])
        #expect(completed.first?.toolCallID == executing.first?.toolCallID)
        #expect(completed.first?.result?["value"] == 55)
        let reports = events.compactMap { if case .finalReport(let body) = $0.payload { body.report } else { nil } }
        #expect(reports.count == 1)
        #expect(reports.first?.contains("55") == true)
        let streamed = events.compactMap { if case .partialResult(let body) = $0.payload { body.content } else { nil } }.joined()
        #expect(streamed == "(17*3)+4 = 55")
        guard case .agentCompleted(let end)? = events.last?.payload else {
            Issue.record("the run did not end with agent_completed: \(String(describing: events.last))")
            return
        }
        #expect(events.last?.agentName == AgentName.supervisor)
        #expect(end.status == .success)
    }

    @Test("what is 1/0? completes the tool with an error and the run still succeeds")
    func divisionByZero() async throws {
        let sink = CollectingEventSink()
        let outcome = await TestSupport.engine(sink: sink).run(TestSupport.input("what is 1/0?"))
        #expect(await TestSupport.violations(sink) == [])
        let completed = await toolCompletions(sink)
        #expect(completed.map(\.status) == [.error])
        #expect(completed.first?.error == "division by zero")
        #expect(outcome == .completed(report: "I couldn't calculate 1/0: division by zero."))
        guard case .agentCompleted(let end)? = await terminal(sink)?.payload else {
            Issue.record("no supervisor agent_completed")
            return
        }
        #expect(end.status == .success)
    }

    @Test("several requests run several tools in order, each paired")
    func severalTools() async throws {
        let sink = CollectingEventSink()
        let outcome = await TestSupport.engine(sink: sink).run(TestSupport.input("what is 2^10 and what time is it in Tokyo, then wait 0 seconds"))
        #expect(await TestSupport.violations(sink) == [])
        #expect(await toolCompletions(sink).map(\.toolName) == ["calculator", "clock", "wait"])
        guard case .completed(let report) = outcome else {
            Issue.record("run did not complete: \(outcome)")
            return
        }
        let lines = report.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == "2^10 = 1024")
        #expect(lines[1].contains("Asia/Tokyo (UTC+09:00)"))
        #expect(lines[2] == "I waited 0 seconds.")
    }

    @Test("a tool that throws something other than ToolError fails the run with tool_failed")
    func brokenTool() async throws {
        let sink = CollectingEventSink()
        let outcome = await TestSupport.engine(sink: sink, tools: ToolRegistry([BrokenCalculator()])).run(TestSupport.input("what is 2+2"))
        #expect(await TestSupport.violations(sink) == [])
        #expect(await toolCompletions(sink).map(\.status) == [.error])
        #expect(outcome == .failed(code: .toolFailed, message: "the calculator tool failed: the tool crashed"))
        let errors = await sink.events.compactMap { if case .agentError(let body) = $0.payload { body } else { nil } }
        #expect(errors.map(\.agentName) == ["assistant", "supervisor"])
        #expect(errors.allSatisfy { $0.code == .toolFailed })
        #expect(await sink.events.contains { $0.type == .finalReport } == false)
    }

    @Test("a tool past its time limit completes with status timeout and the run goes on")
    func toolTimeout() async throws {
        let sink = CollectingEventSink()
        let outcome = await TestSupport.engine(sink: sink, tools: ToolRegistry([SlowWait()])).run(TestSupport.input("wait 5 seconds"))
        #expect(await TestSupport.violations(sink) == [])
        let completed = await toolCompletions(sink)
        #expect(completed.map(\.status) == [.timeout])
        #expect(completed.first?.error == "timed out after 50 ms")
        #expect(outcome == .completed(report: "The wait tool did not finish in time (timed out after 50 ms)."))
    }

    @Test("cancelling mid-tool completes the tool as cancelled and ends the run cancelled")
    func cancellation() async throws {
        let sink = CollectingEventSink()
        let engine = TestSupport.engine(sink: sink)
        let run = Task { await engine.run(TestSupport.input("wait 60 seconds")) }
        await sink.waitFor { $0.type == .toolExecuting }
        run.cancel()
        let outcome = await run.value
        #expect(outcome == .cancelled)
        #expect(await TestSupport.violations(sink) == [])
        #expect(await toolCompletions(sink).map(\.status) == [.cancelled])
        let closings = await sink.events.compactMap { if case .agentCompleted(let body) = $0.payload { body } else { nil } }
        #expect(closings.map(\.agentName) == ["triage", "assistant", "supervisor"])
        #expect(closings.map(\.status) == [.success, .cancelled, .cancelled])
        #expect(await sink.events.contains { $0.type == .finalReport } == false)
    }

    @Test("a worker shutdown closes the run with a retryable agent_error cancelled")
    func shutdown() async throws {
        let sink = CollectingEventSink()
        let engine = TestSupport.engine(sink: sink)
        let control = RunControl()
        let run = Task { await engine.run(TestSupport.input("wait 60 seconds"), control: control) }
        await sink.waitFor { $0.type == .toolExecuting }
        await control.stop(.shutdown)
        run.cancel()
        guard case .failed(code: .cancelled, _) = await run.value else {
            Issue.record("the run did not fail as cancelled")
            return
        }
        #expect(await TestSupport.violations(sink) == [])
        guard case .agentError(let end)? = await terminal(sink)?.payload else {
            Issue.record("no supervisor agent_error")
            return
        }
        #expect(end.retryable)
    }

    @Test("a run past its time limit ends with agent_error timeout, the tool in flight timed out")
    func runTimeout() async throws {
        let sink = CollectingEventSink()
        // The limit usually strikes during the 60 s wait, but on a loaded machine it may strike
        // earlier; either way everything open times out and the run rules hold.
        var configuration = EngineConfiguration(runTimeout: .seconds(1))
        configuration.emitRetry = EmitRetryPolicy(maximumDuration: .seconds(5), initialDelay: .milliseconds(1))
        let outcome = await TestSupport.engine(sink: sink, configuration: configuration).run(TestSupport.input("wait 60 seconds"))
        #expect(await TestSupport.violations(sink) == [])
        #expect(await toolCompletions(sink).allSatisfy { $0.status == .timeout })
        guard case .failed(code: .timeout, _) = outcome else {
            Issue.record("expected a timeout, got \(outcome)")
            return
        }
        let events = await sink.events
        let errors = events.compactMap { if case .agentError(let body) = $0.payload { body } else { nil } }
        #expect(errors.last?.agentName == "supervisor")
        #expect(errors.allSatisfy { $0.code == .timeout })
        // Exactly the agents still open when the limit struck end with the timeout: the supervisor, and the
        // sub-agent at work then (none if it struck between two of them, which a loaded machine makes possible).
        let started = events.filter { $0.type == .agentStarted }.map(\.agentName)
        let completed = Set(events.filter { $0.type == .agentCompleted }.map(\.agentName))
        #expect(errors.map(\.agentName) == started.filter { !completed.contains($0) }.reversed())
    }

    @Test("an unreachable model ends the run with llm_unavailable")
    func modelUnavailable() async throws {
        let sink = CollectingEventSink()
        let outcome = await TestSupport.engine(sink: sink, model: UnreachableModel()).run(TestSupport.input("hello"))
        #expect(await TestSupport.violations(sink) == [])
        #expect(outcome == .failed(code: .llmUnavailable, message: "the language model is unavailable: connection refused"))
        let errors = await sink.events.compactMap { if case .agentError(let body) = $0.payload { body } else { nil } }
        #expect(errors.map(\.agentName) == ["assistant", "supervisor"])
        #expect(errors.allSatisfy { $0.code == .llmUnavailable && $0.retryable })
    }

    @Test("events are retried while the sink fails, in order, none lost")
    func flakySink() async throws {
        let flaky = FlakyEventSink(failures: 3)
        let outcome = await TestSupport.engine(sink: flaky).run(TestSupport.input("what is (17*3)+4?"))
        #expect(outcome == .completed(report: "(17*3)+4 = 55"))
        #expect(await TestSupport.violations(flaky.inner) == [])
        #expect(await flaky.inner.events.first?.type == .agentStarted)
    }

    @Test("a sink that stays down ends the run as events lost, after the retry bound")
    func deadSink() async throws {
        var configuration = EngineConfiguration()
        configuration.emitRetry = EmitRetryPolicy(maximumDuration: .milliseconds(50), initialDelay: .milliseconds(5), maximumDelay: .milliseconds(10))
        let outcome = await TestSupport.engine(sink: BrokenEventSink(), configuration: configuration).run(TestSupport.input("what is 2+2"))
        guard case .eventsLost = outcome else {
            Issue.record("expected events lost, got \(outcome)")
            return
        }
    }

    @Test("a run cancelled before it started is announced with two events")
    func cancelledBeforeStart() async throws {
        let sink = CollectingEventSink()
        let outcome = await TestSupport.engine(sink: sink).runCancelledBeforeStart(TestSupport.input("what is 2+2"))
        #expect(outcome == .cancelled)
        #expect(await TestSupport.violations(sink) == [])
        #expect(await sink.events.map(\.type) == [.agentStarted, .agentCompleted])
    }

    @Test("later runs see the conversation: what did I ask before?")
    func conversationMemory() async throws {
        let sink = CollectingEventSink()
        let engine = TestSupport.engine(sink: sink)
        let first = await engine.run(TestSupport.input("what is (17*3)+4?", runID: "run_1"))
        guard case .completed(let answer) = first else {
            Issue.record("first run failed: \(first)")
            return
        }
        let history = [ConversationTurn(role: .user, content: "what is (17*3)+4?"), ConversationTurn(role: .assistant, content: answer)]
        let second = await engine.run(TestSupport.input("what did I ask before?", history: history, runID: "run_2"))
        #expect(second == .completed(report: "Before this, you asked: “what is (17*3)+4?”"))
        #expect(await TestSupport.violations(sink) == [])
        #expect(Set(await sink.events.map(\.runID)) == ["run_1", "run_2"])
    }
}
