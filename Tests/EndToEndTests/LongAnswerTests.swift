import HeraldCore
import HeraldProtocol
import HeraldTesting
import Testing

/// A one-way door a scripted model waits at until the test opens it.
private actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
}

/// How many relays publish a long answer, and whether the one holding its partition dies during it.
enum RelaySetup: String, CaseIterable, CustomTestStringConvertible {
    case oneRelay, twoRelays, ownerRelayKilled

    var relays: Int { self == .oneRelay ? 1 : 2 }
    var testDescription: String { rawValue }
}

/// Answers at real-model scale (DESIGN.md section 6 for answers of any length): a 10,000-token answer streamed by
/// an OpenAI-compatible server, one `partial_result` per token (`HERALD_STREAM_COALESCE_MS=0`), far more events
/// than `HERALD_HISTORY_SIZE` (1,000). A tab that drops mid-answer recovers all of it; a worker killed mid-answer is
/// closed once, from the run's outline. With one relay, two, and two of which the one publishing the answer dies.
@Suite(.timeLimit(.minutes(5)))
struct LongAnswerTests {
    static let tokens = (1...10_000).map { " t\($0)" }

    private static func environment(_ model: ScriptedModelServer) -> [String: String] {
        [
            "HERALD_LLM_BASE_URL": model.baseURL,
            "HERALD_LLM_MODEL": "scripted-long",
            "HERALD_STREAM_COALESCE_MS": "0",
            "HERALD_RUN_LEASE_SECONDS": "2",
            "HERALD_RELAY_LEASE_SECONDS": "2",
            "HERALD_HISTORY_SIZE": "1000",
        ]
    }

    /// The text the connection saw streamed for `runID`, in order.
    private static func streamedText(_ frames: [EventFrame], runID: String) -> String {
        frames.filter { $0.runID == runID }.compactMap { frame -> String? in
            if case .partialResult(let body) = frame.event.payload { body.content } else { nil }
        }.joined()
    }

    /// Waits until `client` has received the partial result carrying token number `token`.
    private static func waitForToken(_ token: Int, on client: ChatTestClient) async throws {
        let text = tokens[token - 1]
        _ = try await client.firstMatch { frame -> Bool? in
            if case .event(let event) = frame, case .partialResult(let body) = event.event.payload, body.content == text { return true }
            return nil
        }
    }

    /// Kills (SIGKILL) the relay that holds the lease on the thread's event partition.
    private static func killPartitionOwner(of threadID: String, in deployment: HeraldDeployment) async throws {
        let keys = RedisKeys(prefix: "herald")
        let partition = RedisKeys.partition(of: threadID, partitions: 8)
        let owner = try #require(try await deployment.redis.string("GET", keys.partitionLease(partition)))
        let relay = try #require(deployment.relays.first { $0.log.contains(owner) }, "no relay logged its id \(owner)")
        relay.kill9()
    }

    private static func memory(_ deployment: HeraldDeployment) -> String {
        let processes = [deployment.gateway].compactMap { $0 } + deployment.workers + deployment.relays
        return processes.map { "\($0.name) \($0.memory.map { ProcessMemory.mebibytes($0.resident) } ?? "gone")" }.joined(separator: ", ")
    }

    @Test(arguments: RelaySetup.allCases)
    func aTabThatDropsAtToken6000OfA10000TokenAnswerResumesTheWholeText(setup: RelaySetup) async throws {
        let model = try await ScriptedModelServer.start()
        let dropped = Gate()
        let resumed = Gate()
        await model.enqueue(ScriptedModelServer.stream(ProviderTranscripts.triage("A long answer; no tools needed.")))
        await model.enqueue(
            ScriptedModelServer.tokenStream(
                Self.tokens,
                after: [6_000: .waitUntil { await dropped.wait() }, 9_000: .waitUntil { await resumed.wait() }]
            )
        )
        try await withDeployment(workers: 1, relays: setup.relays, environment: Self.environment(model)) { deployment in
            let before = Self.memory(deployment)
            let tab = try await deployment.connect()
            let token = try #require(tab.established.guestToken)
            let queued = try await tab.startRun("tell me everything, at length")
            // Another tab of the same user watches the whole run without a break.
            let unbroken = try await deployment.connect(token: token)
            try await unbroken.send(.resume(.init(threadID: queued.threadID, afterSeq: 0)))

            if setup == .ownerRelayKilled {
                try await Self.waitForToken(3_000, on: tab)
                try await Self.killPartitionOwner(of: queued.threadID, in: deployment)
            }
            try await Self.waitForToken(6_000, on: tab)
            tab.abandon()
            let seenBeforeDrop = await tab.receivedEvents
            let last = try #require(seenBeforeDrop.last)
            // 3,000 more events, three times the event cap, happen while the tab is away.
            await dropped.open()
            try await Self.waitForToken(9_000, on: unbroken)

            let again = try await deployment.connect(token: token)
            try await again.send(.resume(.init(threadID: queued.threadID, afterSeq: last.seq, epoch: last.epoch)))
            let answer = try await again.next("resumed") { frame -> ServerMessage.Resumed? in
                if case .server(.resumed(let resumed)) = frame { return resumed }
                return nil
            }
            #expect(answer.recovered, "history lost part of the live run: \(answer)")
            #expect(answer.replayed >= 3_000)
            await resumed.open()

            let after = try await again.events(untilEndOf: queued.runID)
            let whole = try await unbroken.events(untilEndOf: queued.runID)
            #expect(after.first?.seq == last.seq + 1)
            expectValidRuns(seenBeforeDrop + after)
            expectValidRuns(whole)
            // Before the drop and after the resume together are exactly the unbroken tab's run: no gap, no duplicate.
            // (Compared as one Bool each: a 10,000-event difference would drown the report.)
            let joined = seenBeforeDrop.filter { $0.runID == queued.runID } + after
            let sameEvents = joined.map(\.event.eventID) == whole.map(\.event.eventID)
            #expect(sameEvents, "before the drop and after the resume: \(joined.count) events; unbroken: \(whole.count)")
            let textAcrossTheDrop = Self.streamedText(joined, runID: queued.runID)
            let wholeTextAcrossTheDrop = textAcrossTheDrop == Self.tokens.joined()
            #expect(wholeTextAcrossTheDrop, "text across the drop: \(textAcrossTheDrop.count) characters, ending \(textAcrossTheDrop.suffix(40))")
            let unbrokenText = Self.streamedText(whole, runID: queued.runID)
            let wholeUnbrokenText = unbrokenText == Self.tokens.joined()
            #expect(wholeUnbrokenText, "unbroken text: \(unbrokenText.count) characters")
            #expect(whole.finalReport?.report.hasSuffix(" t10000") == true)
            print("LongAnswerTests[\(setup)] resident memory before the run: \(before); after \(whole.count) events: \(Self.memory(deployment))")
            await again.close()
            await unbroken.close()
        }
        try await model.stop()
    }

    @Test(arguments: RelaySetup.allCases)
    func aWorkerKilledAtToken5000IsClosedOnceFromWhatTheRunOpened(setup: RelaySetup) async throws {
        let model = try await ScriptedModelServer.start()
        await model.enqueue(ScriptedModelServer.stream(ProviderTranscripts.triage("A long answer; no tools needed.")))
        await model.enqueue(ScriptedModelServer.tokenStream(Self.tokens, after: [5_000: .hang]))
        try await withDeployment(workers: 1, relays: setup.relays, environment: Self.environment(model)) { deployment in
            let tab = try await deployment.connect()
            let queued = try await tab.startRun("tell me everything, at length")
            if setup == .ownerRelayKilled {
                try await Self.waitForToken(2_500, on: tab)
                try await Self.killPartitionOwner(of: queued.threadID, in: deployment)
            }
            try await Self.waitForToken(5_000, on: tab)
            deployment.workers[0].kill9()

            let frames = try await tab.events(untilEndOf: queued.runID)
            expectValidRuns(await tab.receivedEvents)
            let supervisorStarts = frames.filter { $0.type == .agentStarted && $0.event.agentName == AgentName.supervisor }
            #expect(supervisorStarts.count == 1)
            #expect(supervisorStarts.first?.seq == frames.first?.seq)
            guard case .agentError(let error) = frames.terminal?.event.payload else {
                Issue.record("expected the supervisor's agent_error, got \(String(describing: frames.terminal))")
                return
            }
            #expect(error.code == .workerLost)
            #expect(frames.filter(\.event.isRunTerminal).count == 1)
            // Every agent opened was closed: the assistant with worker_lost too, then the supervisor.
            let opened = frames.filter { $0.type == .agentStarted }.map(\.event.agentName)
            let closed = frames.filter { $0.type == .agentError || $0.type == .agentCompleted }.map(\.event.agentName)
            #expect(Set(opened) == Set(closed))
            #expect(opened.count == closed.count)
            let streamed = Self.streamedText(frames, runID: queued.runID)
            let everyTokenShown = streamed == Self.tokens.prefix(5_000).joined()
            #expect(everyTokenShown, "streamed: \(streamed.count) characters, ending \(streamed.suffix(40))")
        }
        try await model.stop()
    }
}
