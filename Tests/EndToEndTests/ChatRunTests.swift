import HeraldProtocol
import HeraldTesting
import Testing

/// The whole path, browser protocol to worker and back, over the three real executables.
@Suite(.timeLimit(.minutes(3)))
struct ChatRunTests {
    @Test func arithmeticRunsTheCalculatorAndReportsTheValue() async throws {
        try await withDeployment { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("what is (17*3)+4?", clientMessageID: "m1")
            #expect(queued.clientMessageID == "m1")
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            #expect(frames.first?.seq == 1)
            #expect(frames.allSatisfy { $0.threadID == queued.threadID })
            let calls = frames.toolExecutions
            #expect(calls.map(\.toolName) == ["calculator"])
            let completions = frames.toolCompletions
            #expect(completions.map(\.toolCallID) == calls.map(\.toolCallID))
            #expect(completions.first?.status == .success)
            #expect(frames.finalReport?.report.contains("55") == true)
            guard case .agentCompleted(let completed) = frames.terminal?.event.payload else {
                Issue.record("the run did not end with the supervisor's agent_completed")
                return
            }
            #expect(completed.status == .success)
            let agents = frames.payloads { if case .agentStarted(let started) = $0 { started.agentName } else { nil } }
            #expect(agents == ["supervisor", "triage", "assistant", "reporting"])
            #expect(frames.contains { $0.type == .agentThinking && $0.event.agentName == "triage" })
            #expect(frames.contains { $0.type == .partialResult })
            await client.close()
        }
    }

    @Test func twoRequestsInOneMessageRunTwoToolsInOrder() async throws {
        try await withDeployment { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("what is 6*7 and what time is it in UTC?")
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            #expect(frames.toolExecutions.map(\.toolName) == ["calculator", "clock"])
            #expect(frames.toolCompletions.map(\.toolName) == ["calculator", "clock"])
            #expect(frames.toolCompletions.allSatisfy { $0.status == .success })
            #expect(frames.finalReport?.report.contains("42") == true)
            await client.close()
        }
    }

    @Test func aFailingToolStillEndsTheRunNormally() async throws {
        try await withDeployment { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("what is 1/0?")
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            let completion = try #require(frames.toolCompletions.first)
            #expect(completion.status == .error)
            #expect(completion.error?.lowercased().contains("zero") == true)
            guard case .agentCompleted = frames.terminal?.event.payload else {
                Issue.record("expected the supervisor's agent_completed, got \(String(describing: frames.terminal))")
                return
            }
            #expect(frames.finalReport?.report.lowercased().contains("zero") == true)
            await client.close()
        }
    }

    @Test func aThreadRemembersItsConversation() async throws {
        try await withDeployment { deployment in
            let client = try await deployment.connect()
            let first = try await client.startRun("tell me about the moon")
            _ = try await client.events(untilEndOf: first.runID)
            let second = try await client.startRun("what did I ask before?", threadID: first.threadID)
            let frames = try await client.events(untilEndOf: second.runID)
            expectValidRuns(frames)
            #expect(frames.finalReport?.report.contains("tell me about the moon") == true)
            await client.close()
        }
    }

    @Test func badFramesGetErrorsAndTheConnectionKeepsWorking() async throws {
        try await withDeployment(workers: 1) { deployment in
            let client = try await deployment.connect()
            try await client.sendRaw("{not json")
            #expect(try await client.nextError().code == .badRequest)
            try await client.sendRaw(#"{"type":"make_coffee"}"#)
            #expect(try await client.nextError().code == .unknownType)
            try await client.sendRaw(#"{"type":"user_message"}"#)
            let missing = try await client.nextError()
            #expect(missing.code == .badRequest)
            #expect(missing.message.contains("content"))
            try await client.sendRaw(#"{"type":"resume","thread_id":"t","after_seq":"x"}"#)
            #expect(try await client.nextError().code == .badRequest)
            try await client.send(.ping)
            _ = try await client.next("pong") { frame -> Bool? in
                if case .server(.pong) = frame { return true }
                return nil
            }
            let queued = try await client.startRun("what is 2+2?")
            expectValidRuns(try await client.events(untilEndOf: queued.runID))
            await client.close()
        }
    }
}
