import HeraldProtocol
import Testing

/// Builds frames of one thread with consecutive seqs.
private struct Recording {
    var frames: [EventFrame] = []
    var seq = 0
    let thread = "thr"

    mutating func add(_ run: String, _ agent: String, _ payload: EventPayload, seq explicit: Int? = nil) {
        seq = explicit ?? seq + 1
        frames.append(EventFrame(seq: seq, epoch: "e1", event: AgentEvent(threadID: thread, runID: run, agentName: agent, payload: payload)))
    }

    mutating func start(_ run: String, _ agent: String, parent: String? = nil) {
        add(run, agent, .agentStarted(.init(agentName: agent, parentAgent: parent)))
    }

    mutating func complete(_ run: String, _ agent: String) {
        add(run, agent, .agentCompleted(.init(agentName: agent, status: .success, durationMs: 1)))
    }

    mutating func tool(_ run: String, _ agent: String, _ id: String, complete: Bool = true) {
        add(run, agent, .toolExecuting(.init(toolCallID: id, toolName: "calculator", arguments: [:])))
        if complete {
            add(run, agent, .toolCompleted(.init(toolCallID: id, toolName: "calculator", status: .success, durationMs: 1)))
        }
    }

    /// The classic flow: supervisor → triage, assistant (one tool), reporting (final report).
    mutating func validRun(_ run: String) {
        start(run, "supervisor")
        start(run, "triage", parent: "supervisor")
        add(run, "triage", .agentThinking(.init(thought: "needs calculator")))
        complete(run, "triage")
        start(run, "assistant", parent: "supervisor")
        tool(run, "assistant", "\(run)-call")
        add(run, "assistant", .partialResult(.init(content: "55", isComplete: true)))
        complete(run, "assistant")
        start(run, "reporting", parent: "supervisor")
        add(run, "reporting", .finalReport(.init(report: "55", totalDurationMs: 5)))
        complete(run, "reporting")
        complete(run, "supervisor")
    }

    func violations(requireComplete: Bool = true) -> [RunRuleViolation] {
        RunRulesValidator.validate(frames, requireComplete: requireComplete)
    }
}

@Suite struct RunRulesValidatorTests {
    @Test func validRunsPass() {
        var recording = Recording()
        recording.validRun("r1")
        recording.validRun("r2")
        #expect(recording.violations().isEmpty)
    }

    @Test func anErrorEndingIsValid() {
        var recording = Recording()
        recording.start("r", "supervisor")
        recording.start("r", "assistant", parent: "supervisor")
        recording.add("r", "assistant", .toolExecuting(.init(toolCallID: "c", toolName: "wait", arguments: [:])))
        recording.add("r", "assistant", .toolCompleted(.init(toolCallID: "c", toolName: "wait", status: .error, error: "worker lost", durationMs: 1)))
        recording.add("r", "assistant", .agentError(.init(agentName: "assistant", code: .workerLost, message: "lost", retryable: true)))
        recording.add("r", "supervisor", .agentError(.init(agentName: "supervisor", code: .workerLost, message: "lost", retryable: true)))
        #expect(recording.violations().isEmpty)
    }

    @Test func rule1FirstEventMustBeTheSupervisorsStart() {
        var recording = Recording()
        recording.start("r", "assistant", parent: "supervisor")
        #expect(recording.violations(requireComplete: false).map(\.rule) == [1])
    }

    @Test func rule1NothingAfterTheTerminalEvent() {
        var recording = Recording()
        recording.validRun("r")
        recording.add("r", "assistant", .partialResult(.init(content: "late", isComplete: false)))
        #expect(recording.violations().map(\.rule) == [1])
    }

    @Test func rule1TheRunMustEnd() {
        var recording = Recording()
        recording.start("r", "supervisor")
        #expect(recording.violations(requireComplete: false).isEmpty)
        #expect(recording.violations().map(\.rule) == [1])
    }

    @Test func rule2AgentsCloseNested() {
        var recording = Recording()
        recording.start("r", "supervisor")
        recording.start("r", "assistant", parent: "supervisor")
        recording.complete("r", "supervisor")
        #expect(recording.violations().contains { $0.rule == 2 })
    }

    @Test func rule2EventsComeFromOpenAgents() {
        var recording = Recording()
        recording.start("r", "supervisor")
        recording.add("r", "ghost", .agentThinking(.init(thought: "boo")))
        recording.complete("r", "supervisor")
        #expect(recording.violations().map(\.rule) == [2])
    }

    @Test func rule3EveryToolCallIsCompletedBeforeItsAgentCloses() {
        var recording = Recording()
        recording.start("r", "supervisor")
        recording.start("r", "assistant", parent: "supervisor")
        recording.tool("r", "assistant", "c1", complete: false)
        recording.complete("r", "assistant")
        recording.complete("r", "supervisor")
        #expect(recording.violations().map(\.rule) == [3])
    }

    @Test func rule3CompletionWithoutExecution() {
        var recording = Recording()
        recording.start("r", "supervisor")
        recording.add("r", "supervisor", .toolCompleted(.init(toolCallID: "nope", toolName: "x", status: .success, durationMs: 1)))
        recording.complete("r", "supervisor")
        #expect(recording.violations().map(\.rule) == [3])
    }

    @Test func rule3DuplicateCompletion() {
        var recording = Recording()
        recording.start("r", "supervisor")
        recording.tool("r", "supervisor", "c1")
        recording.add("r", "supervisor", .toolCompleted(.init(toolCallID: "c1", toolName: "calculator", status: .success, durationMs: 1)))
        recording.complete("r", "supervisor")
        #expect(recording.violations().map(\.rule) == [3])
    }

    @Test func rule4AtMostOneFinalReport() {
        var recording = Recording()
        recording.start("r", "supervisor")
        recording.add("r", "supervisor", .finalReport(.init(report: "a", totalDurationMs: 1)))
        recording.add("r", "supervisor", .finalReport(.init(report: "b", totalDurationMs: 1)))
        recording.complete("r", "supervisor")
        #expect(recording.violations().map(\.rule) == [4])
    }

    @Test func rule5SeqGapsAndDuplicates() {
        var gap = Recording()
        gap.start("r", "supervisor")
        gap.add("r", "supervisor", .agentThinking(.init(thought: "x")), seq: 3)
        #expect(gap.violations(requireComplete: false).map(\.rule) == [5])

        var duplicate = Recording()
        duplicate.start("r", "supervisor")
        duplicate.add("r", "supervisor", .agentThinking(.init(thought: "x")))
        duplicate.add("r", "supervisor", .agentThinking(.init(thought: "x")), seq: 2)
        #expect(duplicate.violations(requireComplete: false).map(\.rule) == [5])
    }

    @Test func aNewEpochRestartsTheCount() {
        var validator = RunRulesValidator()
        let started = AgentEvent(threadID: "t", runID: "r", agentName: "supervisor", payload: .agentStarted(.init(agentName: "supervisor")))
        validator.observe(EventFrame(seq: 40, epoch: "old", event: started))
        let next = AgentEvent(threadID: "t", runID: "r2", agentName: "supervisor", payload: .agentStarted(.init(agentName: "supervisor")))
        validator.observe(EventFrame(seq: 1, epoch: "new", event: next))
        #expect(validator.finish(requireComplete: false).isEmpty)
    }

    @Test func interleavedThreadsCountSeparately() {
        var validator = RunRulesValidator()
        for seq in 1...3 {
            for thread in ["a", "b"] {
                let payload: EventPayload =
                    seq == 1
                    ? .agentStarted(.init(agentName: "supervisor"))
                    : (seq == 2
                        ? .agentThinking(.init(thought: "t")) : .agentCompleted(.init(agentName: "supervisor", status: .success, durationMs: 1)))
                validator.observe(
                    EventFrame(
                        seq: seq,
                        epoch: "e",
                        event: AgentEvent(threadID: thread, runID: "run-\(thread)", agentName: "supervisor", payload: payload)
                    )
                )
            }
        }
        #expect(validator.finish().isEmpty)
        #expect(validator.terminatedRunIDs == ["run-a", "run-b"])
    }
}

@Suite struct RunProgressTests {
    private func frames(_ events: [AgentEvent]) -> [EventFrame] {
        events.enumerated().map { EventFrame(seq: $0.offset + 1, epoch: "e", event: $0.element) }
    }

    @Test func closingEventsCompleteAnInterruptedRunValidly() {
        var recording: [AgentEvent] = []
        func add(_ agent: String, _ payload: EventPayload) {
            recording.append(AgentEvent(threadID: "t", runID: "r", agentName: agent, payload: payload))
        }
        add("supervisor", .agentStarted(.init(agentName: "supervisor")))
        add("assistant", .agentStarted(.init(agentName: "assistant", parentAgent: "supervisor")))
        add("assistant", .toolExecuting(.init(toolCallID: "c1", toolName: "wait", arguments: [:])))
        var progress = RunProgress()
        for event in recording { progress.apply(event) }
        #expect(progress.openAgents == ["supervisor", "assistant"])
        #expect(progress.openToolCalls.map(\.toolCallID) == ["c1"])
        let closing = progress.closingEvents(threadID: "t", runID: "r", code: .workerLost, message: "worker lost", retryable: true)
        #expect(closing.map(\.type) == [.toolCompleted, .agentError, .agentError])
        #expect(closing.last?.isRunTerminal == true)
        #expect(RunRulesValidator.validate(frames(recording + closing)).isEmpty)
    }

    @Test(arguments: [(ApprovalDecision.approved, ToolStatus.error), (.denied, .denied), (.expired, .denied), (.cancelled, .cancelled)])
    func aCallClosedAfterItsApprovalClosesAsDecided(decision: ApprovalDecision, status: ToolStatus) {
        var recording: [AgentEvent] = []
        func add(_ agent: String, _ payload: EventPayload) {
            recording.append(AgentEvent(threadID: "t", runID: "r", agentName: agent, payload: payload))
        }
        add("supervisor", .agentStarted(.init(agentName: "supervisor")))
        add("assistant", .agentStarted(.init(agentName: "assistant", parentAgent: "supervisor")))
        add("assistant", .toolExecuting(.init(toolCallID: "c1", toolName: "save_note", arguments: [:])))
        add(
            "assistant",
            .approvalRequested(
                .init(approvalID: "apr_1", toolCallID: "c1", toolName: "save_note", arguments: [:], expiresAt: "2026-12-07T00:00:00.000Z")
            )
        )
        add("assistant", .approvalResolved(.init(approvalID: "apr_1", toolCallID: "c1", decision: decision, arguments: [:])))
        var progress = RunProgress()
        // As the watchdog reads a run: its outline (what opens, closes or decides), never the request itself.
        for event in recording where event.type.opensOrCloses { progress.apply(event) }
        let closing = progress.closingEvents(threadID: "t", runID: "r", code: .workerLost, message: "worker lost", retryable: true)
        guard case .toolCompleted(let completion)? = closing.first?.payload else {
            Issue.record("closing starts with \(String(describing: closing.first?.type))")
            return
        }
        #expect(completion.status == status)
        #expect(RunRulesValidator.validate(frames(recording + closing)).isEmpty)
    }

    @Test func aRunThatNeverStartedStillGetsAValidEnding() {
        let closing = RunProgress().closingEvents(threadID: "t", runID: "r", code: .workerLost, message: "lost", retryable: true)
        #expect(closing.map(\.type) == [.agentStarted, .agentError])
        #expect(RunRulesValidator.validate(frames(closing)).isEmpty)
    }

    @Test func anEndedRunNeedsNothing() {
        var progress = RunProgress()
        progress.apply(AgentEvent(threadID: "t", runID: "r", agentName: "supervisor", payload: .agentStarted(.init(agentName: "supervisor"))))
        progress.apply(
            AgentEvent(
                threadID: "t",
                runID: "r",
                agentName: "supervisor",
                payload: .agentCompleted(.init(agentName: "supervisor", status: .success, durationMs: 1))
            )
        )
        #expect(progress.ended)
        #expect(progress.closingEvents(threadID: "t", runID: "r", code: .workerLost, message: "x", retryable: true).isEmpty)
    }
}
