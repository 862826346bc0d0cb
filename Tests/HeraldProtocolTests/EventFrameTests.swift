import Foundation
import HeraldProtocol
import Testing

@Suite struct EventFrameTests {
    @Test func splicedFrameDecodesToTheSameEvent() throws {
        let event = AgentEvent(
            threadID: "thr_1",
            runID: "run_1",
            agentName: "assistant",
            payload: .toolCompleted(.init(toolCallID: "call_1", toolName: "calculator", status: .success, result: ["value": 55], durationMs: 3))
        )
        let text = EventFrame.splice(seq: 42, epoch: "ep_x", eventJSON: event.encodedJSON())
        let frame = try EventFrame.decode(text)
        #expect(frame.seq == 42)
        #expect(frame.epoch == "ep_x")
        #expect(frame.event == event)
        let object = try JSONValue.parse(text)
        #expect(object["type"] == "tool_completed")
        #expect(object["payload"]?["result"]?["value"] == 55)
        #expect(object["payload"]?["duration_ms"] == 3)
    }

    @Test func everyPayloadRoundTrips() throws {
        let payloads: [EventPayload] = [
            .agentStarted(.init(agentName: "triage", parentAgent: "supervisor", attempt: 1)),
            .agentThinking(.init(thought: "needs a calculator", stepNumber: 1, totalSteps: 3)),
            .toolExecuting(.init(toolCallID: "c", toolName: "calculator", arguments: ["expression": "1+1"])),
            .toolCompleted(.init(toolCallID: "c", toolName: "calculator", status: .error, error: "division by zero", durationMs: 0)),
            .partialResult(.init(content: "Hello ", isComplete: false)),
            .finalReport(.init(report: "done", totalDurationMs: 12, usage: ["total_tokens": 5])),
            .agentCompleted(.init(agentName: "supervisor", status: .cancelled, durationMs: 9)),
            .agentError(.init(agentName: "supervisor", code: .workerLost, message: "worker died", retryable: true)),
        ]
        for payload in payloads {
            let event = AgentEvent(threadID: "t", runID: "r", agentName: "a", payload: payload)
            let decoded = try JSONDecoder().decode(AgentEvent.self, from: Data(event.encodedJSON().utf8))
            #expect(decoded == event)
        }
    }

    @Test func timestampsCarryMilliseconds() throws {
        let text = HeraldTimestamp.format(Date(timeIntervalSince1970: 1_700_000_000.125))
        #expect(text == "2023-11-14T22:13:20.125Z")
        let parsed = try #require(HeraldTimestamp.parse(text))
        #expect(abs(parsed.timeIntervalSince1970 - 1_700_000_000.125) < 0.001)
    }

    @Test func serverMessagesEncodeToTheContract() throws {
        let queued = ServerMessage.runQueued(.init(runID: "r", threadID: "t", clientMessageID: nil)).encoded()
        #expect(try JSONValue.parse(queued) == ["type": "run_queued", "run_id": "r", "thread_id": "t"])
        let error = ServerMessage.error(ProtocolError(.threadBusy, "a run is active", ref: "r9")).encoded()
        #expect(try JSONValue.parse(error) == ["type": "error", "code": "thread_busy", "message": "a run is active", "ref": "r9"])
        #expect(try ServerMessage.decode(error) == .error(ProtocolError(.threadBusy, "a run is active", ref: "r9")))
        let resumed = ServerMessage.resumed(.init(threadID: "t", epoch: "e", recovered: false, replayed: 3, lastSeq: 9))
        #expect(try ServerMessage.decode(resumed.encoded()) == resumed)
    }
}
