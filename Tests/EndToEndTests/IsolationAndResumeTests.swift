import HeraldProtocol
import HeraldTesting
import Logging
import Redis
import Testing

@Suite(.timeLimit(.minutes(5)))
struct IsolationAndResumeTests {
    @Test func twentyUsersThreeMessagesEachSeeOnlyTheirOwnThreads() async throws {
        try await withDeployment(workers: 2) { deployment in
            let clients = try await withThrowingTaskGroup(of: ChatTestClient.self) { group in
                for _ in 0..<20 { group.addTask { try await deployment.connect() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(clients.map(\.userID)).count == 20)
            let results = try await withThrowingTaskGroup(of: (ChatTestClient, [ServerMessage.RunQueued]).self) { group in
                for (index, client) in clients.enumerated() {
                    group.addTask {
                        var queued: [ServerMessage.RunQueued] = []
                        for message in 0..<3 {
                            queued.append(try await client.startRun("what is \(index)+\(message)?"))
                        }
                        return (client, queued)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var completedRuns = 0
            for (client, queued) in results {
                var frames: [EventFrame] = []
                for run in queued {
                    frames += try await client.events(untilEndOf: run.runID)
                }
                expectValidRuns(frames)
                completedRuns += Set(frames.filter { $0.event.isRunTerminal }.map(\.runID)).count
                let ownThreads = Set(queued.map(\.threadID))
                let ownRuns = Set(queued.map(\.runID))
                // Every frame this connection ever received, not only the ones read above.
                for frame in await client.receivedEvents {
                    #expect(ownThreads.contains(frame.threadID), "user \(client.userID) got a frame of thread \(frame.threadID)")
                    #expect(ownRuns.contains(frame.runID))
                }
            }
            #expect(completedRuns == 60)
            for client in clients { await client.close() }
        }
    }

    @Test func aSecondTabResumingMidRunSeesTheSameSequence() async throws {
        try await withDeployment(environment: ["HERALD_OFFLINE_DELAY_MS": "20"]) { deployment in
            let first = try await deployment.connect()
            let token = try #require(first.established.guestToken)
            let queued = try await first.startRun("what is 12*12? explain it in a few words please")
            // Wait until the run is under way, then open the second tab.
            _ = try await first.next("assistant started") { frame -> Bool? in
                if case .event(let event) = frame, event.type == .agentStarted, event.event.agentName == "assistant" { return true }
                return nil
            }
            let second = try await deployment.connect(token: token)
            #expect(second.userID == first.userID)
            try await second.send(.resume(.init(threadID: queued.threadID, afterSeq: 0)))
            let secondFrames = try await second.events(untilEndOf: queued.runID)
            let firstFrames = try await first.events(untilEndOf: queued.runID)
            let firstAll = await first.receivedEvents
            expectValidRuns(firstAll)
            expectValidRuns(secondFrames)
            #expect(secondFrames.first?.seq == 1)
            #expect(secondFrames.map(\.seq) == firstAll.map(\.seq))
            #expect(secondFrames.map(\.event.eventID) == firstAll.map(\.event.eventID))
            #expect(!firstFrames.isEmpty)
            let resumed = try await second.next("resumed") { frame -> ServerMessage.Resumed? in
                if case .server(.resumed(let resumed)) = frame { return resumed }
                return nil
            }
            #expect(resumed.recovered)
            await first.close()
            await second.close()
        }
    }

    @Test func aDroppedConnectionResumesWithItsLastSeqAndMissesNothing() async throws {
        try await withDeployment(environment: ["HERALD_OFFLINE_DELAY_MS": "20"]) { deployment in
            let first = try await deployment.connect()
            let token = try #require(first.established.guestToken)
            let queued = try await first.startRun("wait 1 seconds and then tell me what is 3*3")
            var before: [EventFrame] = []
            _ = try await first.next("tool_executing") { frame -> Bool? in
                guard case .event(let event) = frame else { return nil }
                before.append(event)
                return event.type == .toolExecuting ? true : nil
            }
            first.abandon()
            let lastSeq = try #require(before.last?.seq)
            let again = try await deployment.connect(token: token)
            try await again.send(.resume(.init(threadID: queued.threadID, afterSeq: lastSeq, epoch: before.last?.epoch)))
            let after = try await again.events(untilEndOf: queued.runID)
            #expect(after.first?.seq == lastSeq + 1)
            expectValidRuns(before + after)
            let watcher = try await deployment.connect(token: token)
            try await watcher.send(.resume(.init(threadID: queued.threadID, afterSeq: 0)))
            let everything = try await watcher.events(untilEndOf: queued.runID)
            #expect((before + after).map(\.event.eventID) == everything.map(\.event.eventID))
            await again.close()
            await watcher.close()
        }
    }

    @Test func bothWorkersExecuteRuns() async throws {
        try await withDeployment(workers: 2) { deployment in
            let client = try await deployment.connect()
            var runIDs: [String] = []
            for round in 0..<4 {
                let batch = try await withThrowingTaskGroup(of: String.self) { group in
                    for index in 0..<6 {
                        group.addTask {
                            let queued = try await client.startRun("what is \(round)*\(index)?")
                            return queued.runID
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                runIDs += batch
                for runID in batch { _ = try await client.events(untilEndOf: runID) }
            }
            let redis = RedisClient(configuration: try RedisConfiguration(url: deployment.redis.url), logger: Logger(label: "test"))
            var workersSeen = Set<String>()
            for runID in runIDs {
                if let worker = try await redis.send("HGET", "herald:run:\(runID)", "worker").string {
                    workersSeen.insert(worker)
                }
            }
            #expect(workersSeen.count == 2, "runs were executed by \(workersSeen)")
            await redis.close()
            await client.close()
        }
    }

    @Test func aRunQueuedWithNoWorkerRunsWhenOneStarts() async throws {
        try await withDeployment(workers: 0) { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("what is (17*3)+4?")
            try await deployment.startWorker()
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            #expect(frames.finalReport?.report.contains("55") == true)
            await client.close()
        }
    }
}
