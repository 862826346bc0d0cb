import HeraldCore
import HeraldProtocol
import Testing
@testable import Relay

/// What each published event changes in its thread's messages, worked out without Redis.
@Suite struct MessageUpdateTests {
    private static func entry(_ agent: String, _ payload: EventPayload) -> PartitionEntry {
        PartitionEntry(AgentEvent(threadID: "thr_1", runID: "run_1", agentName: agent, payload: payload))
    }

    @Test func theSupervisorsStartOpensTheExchangeWithTheUsersWords() {
        let start = Self.entry(AgentName.supervisor, .agentStarted(.init(agentName: AgentName.supervisor, input: .init(content: "hi there", clientMessageID: "m1"))))
        guard case .opens(let runID, let user)? = MessageUpdate.updates(for: start).first else {
            Issue.record("no opening")
            return
        }
        #expect(runID == "run_1")
        #expect(user.content == "hi there" && user.clientMessageID == "m1")
        // A sub-agent's start and end, and thinking, change nothing.
        #expect(MessageUpdate.updates(for: Self.entry("researcher", .agentStarted(.init(agentName: "researcher", parentAgent: AgentName.supervisor)))) == [])
        #expect(MessageUpdate.updates(for: Self.entry("researcher", .agentCompleted(.init(agentName: "researcher", status: .success, durationMs: 1)))) == [])
        #expect(MessageUpdate.updates(for: Self.entry(AgentName.supervisor, .agentThinking(.init(thought: "hmm")))) == [])
    }

    @Test func textIsJoinedPerBatchAndTheFinalReportReplacesIt() {
        var updates: [MessageUpdate] = []
        for piece in ["Hel", "lo", " world"] {
            for update in MessageUpdate.updates(for: Self.entry("writer", .partialResult(.init(content: piece, isComplete: false)))) { updates.add(update) }
        }
        #expect(updates == [.appends(runID: "run_1", text: "Hello world")])
        for update in MessageUpdate.updates(for: Self.entry(AgentName.supervisor, .finalReport(.init(report: "Hello world.", totalDurationMs: 5, usage: ["total_tokens": 12])))) {
            updates.add(update)
        }
        #expect(updates == [.replaces(runID: "run_1", text: "Hello world.", usage: ["total_tokens": 12])])
        #expect(updates[0].scriptArguments == ["replace", "run_1", "Hello world.", #"{"total_tokens":12}"#])
    }

    @Test func toolCallsAndTheRunsEndAreKeptWithTheirStatus() throws {
        let began = MessageUpdate.updates(for: Self.entry("calc", .toolExecuting(.init(toolCallID: "c1", toolName: "calculator", arguments: ["expression": "2+2"]))))
        #expect(began == [.toolBegan(runID: "run_1", .init(toolCallID: "c1", toolName: "calculator", arguments: ["expression": "2+2"]))])
        let ended = MessageUpdate.updates(for: Self.entry("calc", .toolCompleted(.init(toolCallID: "c1", toolName: "calculator", status: .error, error: "division by zero", durationMs: 3))))
        #expect(ended == [.toolEnded(runID: "run_1", toolCallID: "c1", .init(status: "error", result: nil, error: "division by zero"))])

        let cases: [(EventPayload, String)] = [
            (.agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 9)), "complete"),
            (.agentCompleted(.init(agentName: AgentName.supervisor, status: .cancelled, durationMs: 9)), "cancelled"),
            (.agentError(.init(agentName: AgentName.supervisor, code: .cancelled, message: "stop", retryable: false)), "cancelled"),
            (.agentError(.init(agentName: AgentName.supervisor, code: .workerLost, message: "gone", retryable: true)), "error"),
        ]
        for (payload, status) in cases {
            guard case .closes(_, let end)? = MessageUpdate.updates(for: Self.entry(AgentName.supervisor, payload)).first else {
                Issue.record("\(payload) does not close the run")
                continue
            }
            #expect(end.status == status)
        }
    }
}
