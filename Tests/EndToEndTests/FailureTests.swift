import HeraldProtocol
import HeraldTesting
import Testing

/// What users see when something breaks: a worker or relay dies, a run is cancelled, a service shuts down.
@Suite(.timeLimit(.minutes(3)))
struct FailureTests {
    private func waitForEvent(_ client: ChatTestClient, runID: String, _ type: EventType) async throws -> EventFrame {
        try await client.firstMatch { frame -> EventFrame? in
            if case .event(let event) = frame, event.runID == runID, event.type == type { return event }
            return nil
        }
    }

    @Test func aKilledWorkersRunEndsWithWorkerLostAndTheThreadIsFreedAgain() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_RUN_LEASE_SECONDS": "2"]) { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("wait 60 seconds")
            _ = try await waitForEvent(client, runID: queued.runID, .toolExecuting)
            deployment.workers[0].kill9()
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            guard case .agentError(let error) = frames.terminal?.event.payload else {
                Issue.record("expected agent_error, got \(String(describing: frames.terminal))")
                return
            }
            #expect(error.code == .workerLost)
            #expect(error.retryable)
            #expect(frames.toolCompletions.map(\.status) == [.error])
            try await deployment.startWorker()
            let next = try await client.startRun("what is 2+3?", threadID: queued.threadID)
            let nextFrames = try await client.events(untilEndOf: next.runID)
            expectValidRuns(nextFrames)
            #expect(nextFrames.finalReport?.report.contains("5") == true)
            await client.close()
        }
    }

    @Test func killingTheActiveRelayLosesAndRepeatsNothing() async throws {
        try await withDeployment(workers: 2, relays: 2, environment: ["HERALD_RELAY_LEASE_SECONDS": "2", "HERALD_OFFLINE_DELAY_MS": "15"]) {
            deployment in
            let clients = try await withThrowingTaskGroup(of: ChatTestClient.self) { group in
                for _ in 0..<6 { group.addTask { try await deployment.connect() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var runs: [(ChatTestClient, String)] = []
            for client in clients {
                let queued = try await client.startRun("what is 99*99? then tell me a long story about relays and redis and failover please")
                runs.append((client, queued.runID))
            }
            _ = try await waitForEvent(clients[0], runID: runs[0].1, .agentStarted)
            deployment.relays[0].kill9()
            for (client, runID) in runs {
                let frames = try await client.events(untilEndOf: runID)
                #expect(frames.terminal != nil)
                // Every frame the connection received, checked for gaps, duplicates and order.
                expectValidRuns(await client.receivedEvents)
            }
            for client in clients { await client.close() }
        }
    }

    @Test func cancellingARunCancelsTheToolInFlightAndEndsTheRun() async throws {
        try await withDeployment(workers: 1) { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("wait 120 seconds")
            _ = try await waitForEvent(client, runID: queued.runID, .toolExecuting)
            try await client.send(.cancelRun(runID: queued.runID))
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            #expect(frames.toolCompletions.map(\.status) == [.cancelled])
            guard case .agentCompleted(let completed) = frames.terminal?.event.payload else {
                Issue.record("expected agent_completed, got \(String(describing: frames.terminal))")
                return
            }
            #expect(completed.status == .cancelled)
            await client.close()
        }
    }

    @Test func aRunCancelledWhileQueuedNeverStarts() async throws {
        try await withDeployment(workers: 0) { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("what is 1+1?")
            try await client.send(.cancelRun(runID: queued.runID))
            try await deployment.startWorker()
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            #expect(frames.map(\.type) == [.agentStarted, .agentCompleted])
            guard case .agentCompleted(let completed) = frames.terminal?.event.payload else { return }
            #expect(completed.status == .cancelled)
            await client.close()
        }
    }

    @Test func oneRunPerThreadAndOnlyTheOwnerMayCancel() async throws {
        try await withDeployment(workers: 1) { deployment in
            let owner = try await deployment.connect()
            let stranger = try await deployment.connect()
            let queued = try await owner.startRun("wait 30 seconds")
            do {
                _ = try await owner.startRun("what is 1+1?", threadID: queued.threadID)
                Issue.record("a second run was accepted on a busy thread")
            } catch let error as ProtocolError {
                #expect(error.code == .threadBusy)
                #expect(error.ref == queued.runID)
            }
            try await stranger.send(.cancelRun(runID: queued.runID))
            #expect(try await stranger.nextError().code == .forbidden)
            try await stranger.send(.cancelRun(runID: "run_does_not_exist"))
            #expect(try await stranger.nextError().code == .notFound)
            try await stranger.send(.resume(.init(threadID: queued.threadID, afterSeq: 0)))
            #expect(try await stranger.nextError().code == .forbidden)
            try await owner.send(.cancelRun(runID: queued.runID))
            let frames = try await owner.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            // The stranger never received a frame of the owner's thread.
            #expect(await stranger.receivedEvents.isEmpty)
            await owner.close()
            await stranger.close()
        }
    }

    @Test func aGatewayShuttingDownClosesSocketsWithGoingAway() async throws {
        try await withDeployment(workers: 1) { deployment in
            let client = try await deployment.connect()
            deployment.gateway?.terminate()
            #expect(try await client.closeCode() == Int(HeraldCloseCode.goingAway))
        }
    }

    @Test func aWorkerShuttingDownFinishesItsRunFirst() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_OFFLINE_DELAY_MS": "10"]) { deployment in
            let client = try await deployment.connect()
            let queued = try await client.startRun("wait 1 seconds then what is 6*7?")
            _ = try await waitForEvent(client, runID: queued.runID, .toolExecuting)
            deployment.workers[0].terminate()
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            guard case .agentCompleted(let completed) = frames.terminal?.event.payload else {
                Issue.record("expected agent_completed, got \(String(describing: frames.terminal))")
                return
            }
            #expect(completed.status == .success)
            #expect(await deployment.workers[0].waitForExit() == 0)
            await client.close()
        }
    }
}
