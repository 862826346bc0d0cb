import HeraldProtocol
import NIOCore
import Testing

@testable import Gateway

/// Approvals on the standard streams: an AG-UI interrupt that finishes the AG-UI run where the Herald run pauses,
/// the AG-UI run that continues it, and the `resume[]` entries that answer it.
@Suite struct StreamEncoderApprovalTests {
    private static let run = "run_apr"

    private static func frame(_ seq: Int, _ agent: String, _ payload: EventPayload) -> EventFrame {
        EventFrame(seq: seq, epoch: "ep", event: AgentEvent(threadID: "thr", runID: run, agentName: agent, payload: payload))
    }

    private static let paused: [EventFrame] = [
        frame(1, AgentName.supervisor, .agentStarted(.init(agentName: AgentName.supervisor))),
        frame(2, "assistant", .agentStarted(.init(agentName: "assistant", parentAgent: AgentName.supervisor))),
        frame(3, "assistant", .partialResult(.init(content: "Saving.", isComplete: false))),
        frame(4, "assistant", .toolExecuting(.init(toolCallID: "c1", toolName: "save_note", arguments: ["text": "x"]))),
        frame(
            5,
            "assistant",
            .approvalRequested(
                .init(approvalID: "apr_1", toolCallID: "c1", toolName: "save_note", arguments: ["text": "x"], expiresAt: "2026-12-07T00:10:00.000Z")
            )
        ),
    ]

    private static let continued: [EventFrame] = [
        frame(6, "assistant", .approvalResolved(.init(approvalID: "apr_1", toolCallID: "c1", decision: .approved, arguments: ["text": "x"]))),
        frame(
            7,
            "assistant",
            .toolCompleted(.init(toolCallID: "c1", toolName: "save_note", status: .success, result: ["saved": true], durationMs: 1))
        ),
        frame(8, "assistant", .partialResult(.init(content: "Saved.", isComplete: true))),
        frame(9, "assistant", .agentCompleted(.init(agentName: "assistant", status: .success, durationMs: 3))),
        frame(10, AgentName.supervisor, .agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 9))),
    ]

    private static func types(_ events: [[String: JSONValue]]) -> [String] {
        events.compactMap { $0["type"]?.stringValue }
    }

    @Test func aPauseFinishesTheAGUIRunWithAnInterruptAfterClosingWhatIsOpen() {
        var encoder = AGUIEventEncoder(clientThreadID: "t", clientRunID: "r1", runID: Self.run)
        let events = Self.paused.flatMap { encoder.events(for: $0) }
        #expect(
            Self.types(events) == [
                "RUN_STARTED", "STEP_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "TOOL_CALL_START",
                "TOOL_CALL_ARGS", "TOOL_CALL_END", "STEP_FINISHED", "RUN_FINISHED",
            ]
        )
        #expect(encoder.isFinished)
        let outcome = events.last?["outcome"]
        #expect(outcome?["type"] == "interrupt")
        guard case .array(let interrupts)? = outcome?["interrupts"], let interrupt = interrupts.first, interrupts.count == 1 else {
            Issue.record("no single interrupt in \(String(describing: outcome))")
            return
        }
        #expect(interrupt["id"] == "apr_1")
        #expect(interrupt["toolCallId"] == "c1")
        #expect(interrupt["reason"] == "tool_call")
        #expect(interrupt["expiresAt"] == "2026-12-07T00:10:00.000Z")
        #expect(encoder.events(for: Self.continued[0]).isEmpty)
    }

    @Test func theContinuingStreamIsANewAGUIRunWithTheWaitingStepOpenedAgain() {
        var encoder = AGUIEventEncoder(
            clientThreadID: "t",
            clientRunID: "r2",
            runID: Self.run,
            continuing: .init(openSteps: ["assistant"], afterSeq: 5)
        )
        let events = Self.continued.flatMap { encoder.events(for: $0) }
        #expect(
            Self.types(events) == [
                "RUN_STARTED", "STEP_STARTED", "CUSTOM", "TOOL_CALL_RESULT", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END",
                "STEP_FINISHED", "RUN_FINISHED",
            ]
        )
        #expect(events.first?["runId"] == "r2")
        #expect(events.last?["outcome"]?["type"] == "success")
        // Its message ids differ from the first AG-UI run's, which numbered from the same start.
        var first = AGUIEventEncoder(clientThreadID: "t", clientRunID: "r1", runID: Self.run)
        let firstIDs = Set(Self.paused.flatMap { first.events(for: $0) }.compactMap { $0["messageId"]?.stringValue })
        let laterIDs = Set(events.compactMap { $0["messageId"]?.stringValue })
        #expect(firstIDs.isDisjoint(with: laterIDs))
    }

    @Test func resumeEntriesSayApproveOrDeny() throws {
        func input(_ resume: String) throws -> AGUIRunInput {
            try AGUIRunInput(json: #"{"threadId":"t","runId":"r","messages":[],"resume":\#(resume)}"#)
        }
        #expect(
            try input(#"[{"interruptId":"apr_1","status":"resolved","payload":{"decision":"approve","arguments":{"text":"y"}}}]"#).resume == [
                .init(approvalID: "apr_1", approve: true, arguments: ["text": "y"])
            ]
        )
        #expect(try input(#"[{"interruptId":"apr_1","status":"resolved","payload":{"approved":false}}]"#).resume.first?.approve == false)
        #expect(try input(#"[{"interruptId":"apr_1","status":"cancelled"}]"#).resume.first?.approve == false)
        for bad in [
            #"{"interruptId":"apr_1"}"#, #"[{"status":"resolved","payload":{"approved":true}}]"#,
            #"[{"interruptId":"apr_1","status":"resolved","payload":{"decision":"maybe"}}]"#,
            #"[{"interruptId":"apr_1","status":"resolved","payload":{"decision":"deny","arguments":{}}}]"#,
            #"[{"interruptId":"apr_1","status":"later"}]"#,
        ] {
            #expect(throws: AGUIRunInput.Invalid.self, "\(bad)") { try input(bad) }
        }
    }
}
