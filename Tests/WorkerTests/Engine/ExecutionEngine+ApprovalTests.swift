import Foundation
import HeraldCore
import HeraldProtocol
import Testing

@testable import Worker

/// Runs that pause for approval (DESIGN.md section 10) and continue on another engine, as on another worker: the paused
/// state goes through its JSON form, and `approval_resolved` is emitted in between as the deciding gateway would.
@Suite("Execution engine: approvals", .timeLimit(.minutes(2)))
struct ExecutionEngineApprovalTests {
    /// The calculator needs approval here (as `HERALD_APPROVAL_TOOLS=calculator` makes it).
    private let tools = ToolRegistry.standard(docs: .empty, approvals: ApprovalPolicy(setting: "calculator"))

    private func engine(_ sink: CollectingEventSink, _ suspender: RecordingSuspender) -> ExecutionEngine {
        TestSupport.engine(sink: sink, suspender: suspender, tools: tools)
    }

    /// Pauses `message`'s run; returns its paused state as another worker would read it.
    private func pause(_ message: String, sink: CollectingEventSink) async throws -> PausedRun {
        let suspender = RecordingSuspender(sink: sink)
        let outcome = await engine(sink, suspender).run(TestSupport.input(message))
        let paused = try #require(await suspender.paused.last)
        #expect(outcome == .paused(approvalID: paused.approval.approvalID))
        return try PausedRun.decode(paused.encodedJSON())
    }

    /// Decides `paused`'s request and continues it on a fresh engine.
    private func decide(
        _ paused: PausedRun,
        _ decision: ApprovalDecision,
        arguments: JSONValue? = nil,
        reason: String? = nil,
        sink: CollectingEventSink
    ) async throws -> (RunOutcome, RecordingSuspender) {
        let approved = arguments ?? paused.approval.arguments
        try await sink.emit(
            AgentEvent(
                threadID: paused.input.threadID,
                runID: paused.input.runID,
                agentName: paused.approval.agentName,
                payload: .approvalResolved(
                    .init(
                        approvalID: paused.approval.approvalID,
                        toolCallID: paused.approval.toolCallID,
                        decision: decision,
                        arguments: approved,
                        decidedBy: "user_test",
                        reason: reason
                    )
                )
            )
        )
        let verdict = ApprovalVerdict(
            toolCallID: paused.approval.toolCallID,
            decision: decision,
            arguments: approved,
            argumentsEdited: approved != paused.approval.arguments,
            decidedBy: "user_test",
            reason: reason
        )
        let suspender = RecordingSuspender(sink: sink)
        return (await engine(sink, suspender).resume(paused, after: verdict), suspender)
    }

    private func completions(_ sink: CollectingEventSink) async -> [EventPayload.ToolCompleted] {
        await sink.events.compactMap { if case .toolCompleted(let body) = $0.payload { body } else { nil } }
    }

    @Test func aCallThatNeedsApprovalPausesTheRunAfterItsToolExecuting() async throws {
        let sink = CollectingEventSink()
        let paused = try await pause("what is 6*7?", sink: sink)
        let events = await sink.events
        #expect(events.suffix(2).map(\.type) == [.toolExecuting, .approvalRequested])
        #expect(!events.contains { $0.isRunTerminal })
        #expect(paused.approval.toolName == "calculator")
        #expect(paused.approval.arguments == ["expression": "6*7"])
        #expect(paused.assistant.pendingCalls.first?.id == paused.approval.toolCallID)
        let expires = try #require(HeraldTimestamp.parse(paused.approval.expiresAt))
        #expect(abs(expires.timeIntervalSinceNow - 600) < 60)
        #expect(RunRulesValidator.validate(await sink.frames(), requireComplete: false).isEmpty)
    }

    @Test func anApprovedCallRunsAndTheRunCompletesOnAnotherEngine() async throws {
        let sink = CollectingEventSink()
        let paused = try await pause("what is 6*7?", sink: sink)
        let (outcome, _) = try await decide(paused, .approved, sink: sink)
        guard case .completed(let report) = outcome else {
            Issue.record("outcome \(outcome)")
            return
        }
        #expect(report.contains("6*7 = 42"))
        #expect(await completions(sink).map(\.status) == [.success])
        #expect(await TestSupport.violations(sink).isEmpty)
        let starts = await sink.events.filter { $0.type == .agentStarted }.map(\.agentName)
        #expect(starts == ["supervisor", "triage", "assistant", "reporting"])
    }

    @Test func editedArgumentsAreWhatTheToolRunsWith() async throws {
        let sink = CollectingEventSink()
        let paused = try await pause("what is 6*7?", sink: sink)
        let (outcome, _) = try await decide(paused, .approved, arguments: ["expression": "3*3"], sink: sink)
        #expect(await completions(sink).first?.result?["value"] == 9)
        guard case .completed(let report) = outcome else {
            Issue.record("outcome \(outcome)")
            return
        }
        #expect(report.contains("3*3 = 9"))
        #expect(await TestSupport.violations(sink).isEmpty)
    }

    @Test(arguments: [ApprovalDecision.denied, .expired])
    func aCallNotApprovedCompletesDeniedAndTheRunGoesOn(decision: ApprovalDecision) async throws {
        let sink = CollectingEventSink()
        let paused = try await pause("what is 6*7?", sink: sink)
        let (outcome, _) = try await decide(paused, decision, reason: decision == .denied ? "not now" : nil, sink: sink)
        let completion = try #require(await completions(sink).first)
        #expect(completion.status == .denied)
        #expect(completion.result == nil)
        guard case .completed(let report) = outcome else {
            Issue.record("outcome \(outcome)")
            return
        }
        #expect(report.contains("I did not run calculator"))
        #expect(await TestSupport.violations(sink).isEmpty)
    }

    @Test func aCancelledApprovalEndsTheRunCancelled() async throws {
        let sink = CollectingEventSink()
        let paused = try await pause("what is 6*7?", sink: sink)
        let (outcome, _) = try await decide(paused, .cancelled, sink: sink)
        #expect(outcome == .cancelled)
        #expect(await completions(sink).map(\.status) == [.cancelled])
        let last = try #require(await sink.events.last)
        #expect(last.payload == .agentCompleted(.init(agentName: "supervisor", status: .cancelled, durationMs: agentDuration(last))))
        #expect(await TestSupport.violations(sink).isEmpty)
    }

    @Test func aRunStoppedBeforeItContinuesDoesNotRunTheApprovedTool() async throws {
        let sink = CollectingEventSink()
        let paused = try await pause("what is 6*7?", sink: sink)
        let control = RunControl()
        await control.stop(.cancelled)
        try await sink.emit(
            AgentEvent(
                threadID: paused.input.threadID,
                runID: paused.input.runID,
                agentName: "assistant",
                payload: .approvalResolved(
                    .init(approvalID: paused.approval.approvalID, toolCallID: paused.approval.toolCallID, decision: .approved, arguments: [:])
                )
            )
        )
        let verdict = ApprovalVerdict(toolCallID: paused.approval.toolCallID, decision: .approved, arguments: paused.approval.arguments)
        let outcome = await engine(sink, RecordingSuspender(sink: sink)).resume(paused, after: verdict, control: control)
        #expect(outcome == .cancelled)
        #expect(await completions(sink).map(\.status) == [.cancelled])
        #expect(await TestSupport.violations(sink).isEmpty)
    }

    @Test func aSecondCallThatNeedsApprovalPausesTheContinuedRunAgain() async throws {
        let sink = CollectingEventSink()
        let first = try await pause("what is 2+2, and what is 3+3?", sink: sink)
        let (outcome, suspender) = try await decide(first, .approved, sink: sink)
        let second = try #require(await suspender.paused.first)
        #expect(outcome == .paused(approvalID: second.approval.approvalID))
        #expect(second.approval.approvalID != first.approval.approvalID)
        #expect(second.approval.arguments == ["expression": "3+3"])
        #expect(second.startedAt == first.startedAt)
        let (end, _) = try await decide(try PausedRun.decode(second.encodedJSON()), .denied, sink: sink)
        guard case .completed(let report) = end else {
            Issue.record("outcome \(end)")
            return
        }
        #expect(report.contains("2+2 = 4"))
        #expect(report.contains("I did not run calculator"))
        #expect(await completions(sink).map(\.status) == [.success, .denied])
        #expect(await TestSupport.violations(sink).isEmpty)
    }

    @Test func aToolThatNeedsNoApprovalRunsAsBefore() async throws {
        let sink = CollectingEventSink()
        let outcome = await engine(sink, RecordingSuspender(sink: sink)).run(TestSupport.input("what time is it?"))
        guard case .completed = outcome else {
            Issue.record("outcome \(outcome)")
            return
        }
        #expect(!(await sink.events.contains { $0.type == .approvalRequested }))
    }

    @Test func settingsWidenWhichToolsNeedApproval() {
        #expect(ApprovalPolicy(setting: "").covers("calculator") == false)
        #expect(ApprovalPolicy(setting: " calculator , wait").covers("wait"))
        #expect(ApprovalPolicy(setting: "*").covers("anything"))
        #expect(tools.requiresApproval("calculator"))
        #expect(!tools.requiresApproval("clock"))
        #expect(!tools.requiresApproval("no_such_tool"))
    }

    private func agentDuration(_ event: AgentEvent) -> Int {
        if case .agentCompleted(let body) = event.payload { return body.durationMs }
        return -1
    }
}
