import HeraldProtocol
import NIOCore
import Testing

@testable import Gateway

/// The AG-UI and AI SDK encoders on a run's events, without sockets: which standard events each Herald event
/// becomes, and the opening and closing that the standards' clients check.
@Suite struct StreamEncoderTests {
    private static let run = "run_enc"

    /// A run with a thought, streamed text, a tool call and a report, numbered as the relay would.
    private static func frames(
        ending terminal: EventPayload = .agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 9))
    ) -> [EventFrame] {
        let events: [(String, EventPayload)] = [
            (AgentName.supervisor, .agentStarted(.init(agentName: AgentName.supervisor))),
            ("assistant", .agentStarted(.init(agentName: "assistant", parentAgent: AgentName.supervisor))),
            ("assistant", .partialResult(.init(content: "Let me", isComplete: false))),
            ("assistant", .partialResult(.init(content: " check.", isComplete: false))),
            ("assistant", .agentThinking(.init(thought: "Calling calculator."))),
            ("assistant", .toolExecuting(.init(toolCallID: "call_1", toolName: "calculator", arguments: ["expression": "6*7"]))),
            (
                "assistant",
                .toolCompleted(.init(toolCallID: "call_1", toolName: "calculator", status: .success, result: ["value": 42], durationMs: 1))
            ),
            ("assistant", .partialResult(.init(content: "It is 42.", isComplete: false))),
            ("assistant", .partialResult(.init(content: "", isComplete: true))),
            ("assistant", .agentCompleted(.init(agentName: "assistant", status: .success, durationMs: 5))),
            (AgentName.supervisor, .finalReport(.init(report: "It is 42.", totalDurationMs: 9))),
            (AgentName.supervisor, terminal),
        ]
        return events.enumerated().map { index, item in
            EventFrame(seq: index + 1, epoch: "ep", event: AgentEvent(threadID: "thr_enc", runID: run, agentName: item.0, payload: item.1))
        }
    }

    @Test func agUIOpensAndClosesTextAroundToolCallsAndEndsWithRunFinished() {
        var encoder = AGUIEventEncoder(clientThreadID: "client-thread", clientRunID: "client-run", runID: Self.run)
        let events = Self.frames().flatMap { encoder.events(for: $0) }
        #expect(
            events.compactMap { $0["type"]?.stringValue } == [
                "RUN_STARTED", "STEP_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT",
                "TEXT_MESSAGE_END", "REASONING_START", "REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT", "REASONING_MESSAGE_END",
                "REASONING_END",
                "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT",
                "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "STEP_FINISHED", "CUSTOM", "RUN_FINISHED",
            ]
        )
        #expect(encoder.isFinished)
        #expect(events.first?["threadId"] == "client-thread")
        #expect(events.first?["runId"] == "client-run")
        #expect(events.last?["outcome"]?["type"] == "success")
        #expect(events.last?["result"] == "It is 42.")
        // Two text messages, each with its own id; every event names the Herald event it comes from.
        let starts = events.filter { $0["type"] == "TEXT_MESSAGE_START" }.compactMap { $0["messageId"]?.stringValue }
        #expect(Set(starts).count == 2)
        #expect(events.allSatisfy { $0["metadata"]?["herald"]?["event_id"]?.stringValue != nil })
        #expect(events.first { $0["type"] == "TOOL_CALL_ARGS" }?["delta"] == #"{"expression":"6*7"}"#)
        // Nothing after the end, and nothing of other runs.
        #expect(encoder.events(for: Self.frames()[2]).isEmpty)
        var other = AGUIEventEncoder(clientThreadID: "t", clientRunID: "r", runID: "run_other")
        #expect(Self.frames().flatMap { other.events(for: $0) }.isEmpty)
    }

    @Test func agUIEndsAFailedRunWithRunErrorAndACancelledOneAsCancelled() {
        var failing = AGUIEventEncoder(clientThreadID: "t", clientRunID: "r", runID: Self.run)
        let failed = Self.frames(ending: .agentError(.init(agentName: AgentName.supervisor, code: .workerLost, message: "gone", retryable: true)))
            .flatMap { failing.events(for: $0) }
        #expect(failed.last?["type"] == "RUN_ERROR")
        #expect(failed.last?["code"] == "worker_lost")
        var cancelling = AGUIEventEncoder(clientThreadID: "t", clientRunID: "r", runID: Self.run)
        let cancelled = Self.frames(ending: .agentCompleted(.init(agentName: AgentName.supervisor, status: .cancelled, durationMs: 1)))
            .flatMap { cancelling.events(for: $0) }
        #expect(cancelled.last?["outcome"]?["type"] == "cancelled")
    }

    @Test func uiMessageStreamPartsFollowTheRunAndCarryEachHeraldEvent() {
        var encoder = UIMessageStreamEncoder(runID: Self.run)
        let parts = Self.frames().flatMap { encoder.parts(for: $0) }
        let visible = parts.filter { $0["type"] != "data-herald-event" }
        #expect(
            visible.compactMap { $0["type"]?.stringValue } == [
                "start", "start-step", "text-start", "text-delta", "text-delta", "text-end", "reasoning-start", "reasoning-delta", "reasoning-end",
                "tool-input-available", "tool-output-available", "text-start", "text-delta", "text-end", "finish-step",
                "data-herald-final-report", "finish",
            ]
        )
        #expect(parts.filter { $0["type"] == "data-herald-event" }.compactMap { $0["data"]?["seq"]?.numberValue } == (1...12).map(Double.init))
        #expect(visible.first { $0["type"] == "tool-output-available" }?["output"]?["value"] == 42)
        #expect(encoder.isFinished)

        var failing = UIMessageStreamEncoder(runID: Self.run)
        let failed = Self.frames(ending: .agentError(.init(agentName: AgentName.supervisor, code: .llmUnavailable, message: "down", retryable: true)))
            .flatMap { failing.parts(for: $0) }
        #expect(failed.last?["type"] == "error")
    }

    @Test func standardIDsKeepHeraldShapedIDsAndHashOthersTheSameEveryTime() {
        #expect(StandardIDs.herald(for: "thread-1_A", prefix: "agui") == "thread-1_A")
        let mapped = StandardIDs.herald(for: "user@example.com/chat 7", prefix: "agui")
        #expect(mapped.hasPrefix("agui-") && mapped.count == 45)
        #expect(StandardIDs.herald(for: "user@example.com/chat 7", prefix: "agui") == mapped)
        #expect(ConnectionSession.isValidID(mapped))
        #expect(!StandardIDs.isAcceptable(""))
        #expect(!StandardIDs.isAcceptable("tab\there"))
        #expect(!StandardIDs.isAcceptable(String(repeating: "x", count: 129)))
    }

    @Test func requestsAreReadForTheirNewestUserMessage() throws {
        let input = try AGUIRunInput(
            json:
                #"{"threadId":"t","runId":"r","messages":[{"id":"1","role":"user","content":"old"},{"id":"2","role":"assistant","content":"hi"},{"id":"3","role":"user","content":[{"type":"text","text":"new"},{"type":"image","url":"x"}]}],"tools":[{"name":"x","description":"y","parameters":{}}]}"#
        )
        #expect(input.message == "new" && input.messageID == "3")
        #expect(throws: AGUIRunInput.Invalid.self) {
            try AGUIRunInput(json: #"{"threadId":"t","runId":"r","messages":[{"id":"1","role":"assistant","content":"x"}]}"#)
        }
        #expect(throws: AGUIRunInput.Invalid.self) { try AGUIRunInput(json: #"{"threadId":"","runId":"r","messages":[]}"#) }
        let chat = try ChatRequest(
            json: #"{"id":"abc","messages":[{"id":"m","role":"user","parts":[{"type":"text","text":"hello"}]}],"trigger":"submit-message"}"#
        )
        #expect(chat.chatID == "abc" && chat.message == "hello")
        #expect(throws: ChatRequest.Invalid.self) { try ChatRequest(json: #"{"id":"abc","messages":[{"role":"user","parts":[]}]}"#) }
    }
}
