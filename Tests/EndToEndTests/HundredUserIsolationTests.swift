import HeraldProtocol
import HeraldTesting
import Testing

/// Rule 6 at scale (issue #5, item 2): a hundred users at once, and every frame every connection receives counted.
@Suite(.timeLimit(.minutes(3)))
struct HundredUserIsolationTests {
    static let userCount = 100

    /// One user of the test: its first connection, its extra tabs, and what it started.
    struct User: Sendable {
        let client: ChatTestClient
        let tabs: [ChatTestClient]
        let threads: [String]
        var runs: [String]

        var connections: [ChatTestClient] { [client] + tabs }
    }

    @Test func aHundredUsersAtOnceReceiveNoFrameOfAnotherUsersThread() async throws {
        // Worker slots for every run at once, and a word delay that keeps the runs streaming side by side.
        let environment = ["HERALD_OFFLINE_DELAY_MS": "10", "HERALD_WORKER_CONCURRENCY": "100"]
        try await withDeployment(workers: 2, environment: environment) { deployment in
            // Phase 1: a hundred guests connect, and each starts two runs on two new threads, all at once;
            // every fifth user also opens a second tab that resumes its first thread from the start.
            var users = try await withThrowingTaskGroup(of: User.self) { group in
                for index in 0..<Self.userCount {
                    group.addTask {
                        let client = try await deployment.connect()
                        async let first = client.startRun("what is (\(index)*7)+\(index % 13)?")
                        async let second = client.startRun("tell me about the weather on day \(index) in a few sentences")
                        let queued = try await [first, second]
                        var tabs: [ChatTestClient] = []
                        if index % 5 == 0 {
                            let token: String = try #require(client.established.guestToken)
                            let tab = try await deployment.connect(token: token)
                            #expect(tab.userID == client.userID)
                            try await tab.send(.resume(.init(threadID: queued[0].threadID, afterSeq: 0)))
                            tabs.append(tab)
                        }
                        return User(client: client, tabs: tabs, threads: queued.map(\.threadID), runs: queued.map(\.runID))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(users.map(\.client.userID)).count == Self.userCount)
            #expect(Set(users.flatMap(\.threads)).count == 2 * Self.userCount)

            try await withThrowingTaskGroup(of: Void.self) { group in
                for user in users {
                    group.addTask {
                        for run in user.runs { _ = try await user.client.events(untilEndOf: run) }
                        for tab in user.tabs { _ = try await tab.events(untilEndOf: user.runs[0]) }
                    }
                }
                try await group.waitForAll()
            }

            // Phase 2: each user B tries to read, write and cancel on the thread of its neighbour A while A's
            // run on it is under way; each attempt is refused, and A's run ends undisturbed.
            let intrusions = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, owner) in users.enumerated() {
                    let intruder = users[(index + 1) % users.count]
                    group.addTask {
                        let thread = owner.threads[0]
                        let queued = try await owner.client.startRun("wait 1 seconds and then tell me what is 6*7", threadID: thread)
                        _ = try await owner.client.firstMatch { frame -> Bool? in
                            if case .event(let event) = frame, event.runID == queued.runID, event.type == .toolExecuting { return true }
                            return nil
                        }
                        let messageID = "intrusion-\(index)"
                        try await intruder.client.send(.resume(.init(threadID: thread, afterSeq: 0)))
                        try await intruder.client.send(.userMessage(.init(content: "let me in", threadID: thread, clientMessageID: messageID)))
                        try await intruder.client.send(.cancelRun(runID: queued.runID))
                        for ref in [thread, messageID, queued.runID] {
                            let error = try await intruder.client.firstMatch { frame -> ProtocolError? in
                                if case .server(.error(let error)) = frame, error.ref == ref { return error }
                                return nil
                            }
                            #expect(error.code == .forbidden, "\(ref): \(error)")
                        }

                        let frames = try await owner.client.events(untilEndOf: queued.runID)
                        if case .agentCompleted(let completed) = frames.last?.event.payload {
                            #expect(completed.status == .success)
                        } else {
                            Issue.record("\(queued.runID) ended with \(String(describing: frames.last?.type))")
                        }
                        #expect(frames.finalReport?.report.contains("42") == true)
                        // The owner's other tab watches the thread too, and sees the run to its end.
                        for tab in owner.tabs { _ = try await tab.events(untilEndOf: queued.runID) }
                        return (index, queued.runID)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for (index, runID) in intrusions { users[index].runs.append(runID) }
            // A connection's frames go out in the order the gateway queued them: whatever was already queued for it
            // (a stray frame of another user's thread included) arrives before the pong to a ping sent now.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for connection in users.flatMap(\.connections) {
                    group.addTask {
                        try await connection.send(.ping)
                        _ = try await connection.firstMatch { frame -> Bool? in
                            if case .server(.pong) = frame { return true }
                            return nil
                        }
                    }
                }
                try await group.waitForAll()
            }

            // Every frame every connection received, accounted for.
            var framesCounted = 0
            var runsEnded = Set<String>()
            for user in users {
                let ownThreads = Set(user.threads)
                let ownRuns = Set(user.runs)
                for connection in user.connections {
                    let isTab = connection !== user.client
                    var foreign: [String] = []
                    var errors: [ProtocolError] = []
                    let texts = await connection.received
                    framesCounted += texts.count
                    for text in texts {
                        // Classified here from the text, as the test client does, so nothing is left out.
                        let frame: IncomingFrame =
                            if let message = try? ServerMessage.decode(text) {
                                .server(message)
                            } else if let event = try? EventFrame.decode(text) {
                                .event(event)
                            } else {
                                .unknown(text)
                            }
                        switch frame {
                        case .event(let event):
                            if !ownThreads.contains(event.threadID) || !ownRuns.contains(event.runID) { foreign.append(text) }
                            if event.event.isRunTerminal { runsEnded.insert(event.runID) }
                        case .server(.runQueued(let queued)):
                            if !ownThreads.contains(queued.threadID) { foreign.append(text) }
                        case .server(.resumed(let resumed)):
                            if !ownThreads.contains(resumed.threadID) { foreign.append(text) }
                        case .server(.error(let error)):
                            errors.append(error)
                        case .server(.connectionEstablished), .server(.pong):
                            break
                        case .unknown:
                            foreign.append(text)
                        }
                    }
                    #expect(foreign.isEmpty, "user \(user.client.userID) received \(foreign.count) frames not its own: \(foreign.prefix(3))")
                    // The only errors are the three refusals of the user's own intrusions.
                    #expect(errors.map(\.code) == (isTab ? [] : [.forbidden, .forbidden, .forbidden]), "\(errors)")

                    let events = await connection.receivedEvents
                    expectValidRuns(events)
                    let threadsSeen = isTab ? [user.threads[0]] : user.threads
                    for thread in threadsSeen {
                        #expect(events.first { $0.threadID == thread }?.seq == 1, "thread \(thread) did not start at seq 1")
                    }
                }
            }
            #expect(runsEnded == Set(users.flatMap(\.runs)))
            #expect(runsEnded.count == 3 * Self.userCount)
            // At least connection_established, two run_queued and three terminal events per user's first connection.
            #expect(framesCounted >= 6 * Self.userCount)

            for connection in users.flatMap(\.connections) { await connection.close() }
        }
    }
}
