import HeraldCore
import HeraldProtocol
import HeraldTesting
import Logging
import Redis
import Testing

@testable import Relay

private func event(_ thread: String, _ run: String, _ agent: String, _ payload: EventPayload) -> AgentEvent {
    AgentEvent(threadID: thread, runID: run, agentName: agent, payload: payload)
}

private func started(_ thread: String, _ run: String, _ agent: String = AgentName.supervisor) -> AgentEvent {
    event(thread, run, agent, .agentStarted(.init(agentName: agent)))
}

private func text(_ thread: String, _ run: String, _ content: String) -> AgentEvent {
    event(thread, run, "assistant", .partialResult(.init(content: content, isComplete: false)))
}

private func completed(_ thread: String, _ run: String, _ agent: String = AgentName.supervisor) -> AgentEvent {
    event(thread, run, agent, .agentCompleted(.init(agentName: agent, status: .success, durationMs: 1)))
}

/// A thread's history while a run streams more events than `HERALD_HISTORY_SIZE`: the live run is kept whole
/// (up to `HERALD_HISTORY_MAX_RUN_BYTES`), the event cap applies again once it ends, and the run's outline keeps
/// what opens and closes for the watchdog. Against a real redis-server, through the real publish script.
@Suite(.timeLimit(.minutes(2)))
struct LiveRunHistoryTests {
    private struct Harness {
        let server: RedisServerProcess
        let redis: RedisClient
        let keys = RedisKeys(prefix: "live")
        var entries = 0

        static func start() async throws -> Harness {
            let server = try await RedisServerProcess.start()
            return Harness(
                server: server,
                redis: RedisClient(configuration: try RedisConfiguration(url: server.url), logger: Logger(label: "live-run-test"))
            )
        }

        /// Publishes `events` as partition 0's lease holder, in batches of `batch`, with rising entry ids.
        mutating func publish(_ events: [AgentEvent], with publisher: EventPublisher, threads: inout ThreadLogCache, batch: Int = 100) async throws {
            _ = try await redis.send("SET", keys.partitionLease(0), "relay-test", "PX", "60000")
            var start = events.startIndex
            while start < events.endIndex {
                let end = min(start + batch, events.endIndex)
                let items = events[start..<end].map { event -> EventPublisher.Item in
                    entries += 1
                    return EventPublisher.Item(PartitionEntry(event), entryID: "1-\(entries)")
                }
                _ = try await publisher.publish(items, from: .init(partition: 0, leaseHolder: "relay-test"), threads: &threads, on: redis)
                start = end
            }
        }

        func list(_ key: String) async throws -> [EventFrame] {
            let reply = try await redis.send("LRANGE", key, "0", "-1")
            return try (reply.array ?? []).map { try EventFrame.decode($0.string ?? "") }
        }

        func stop() async {
            await redis.close()
            await server.stop()
        }
    }

    @Test func aLiveRunKeepsAllItsEventsBeyondTheCapAndTheCapReturnsWhenItEnds() async throws {
        var harness = try await Harness.start()
        let publisher = EventPublisher(keys: harness.keys, historySize: 50, historyTTLSeconds: 600, dedupWindow: 32)
        var threads = ThreadLogCache(capacity: 10)
        // An earlier run of 30 events, then a live run of 1 + 500 streamed events.
        let earlier = [started("thr", "run_1")] + (1...28).map { text("thr", "run_1", "e\($0)") } + [completed("thr", "run_1")]
        try await harness.publish(earlier, with: publisher, threads: &threads)
        let live = [started("thr", "run_2"), started("thr", "run_2", "assistant")] + (1...500).map { text("thr", "run_2", " t\($0)") }
        try await harness.publish(live, with: publisher, threads: &threads, batch: 7)
        var history = try await harness.list(harness.keys.threadHistory("thr"))
        // The whole live run (its 502 events, from seq 31) and nothing trimmed inside it; older events may go.
        #expect(history.last?.seq == 532)
        #expect(history.first.map { $0.seq <= 31 } == true)
        #expect(history.map(\.seq) == Array((history.first?.seq ?? 0)...532))
        #expect(history.filter { $0.runID == "run_2" }.count == 502)
        // The outline: what opened, nothing streamed.
        let outline = try await harness.list(harness.keys.threadLiveRunOutline("thr"))
        #expect(outline.map(\.type) == [.agentStarted, .agentStarted])
        #expect(outline.map(\.runID) == ["run_2", "run_2"])

        // The run ends: the event cap applies again at once, and the outline is gone.
        try await harness.publish([completed("thr", "run_2", "assistant"), completed("thr", "run_2")], with: publisher, threads: &threads)
        history = try await harness.list(harness.keys.threadHistory("thr"))
        #expect(history.count == 50)
        #expect(history.last?.seq == 534)
        #expect(try await harness.redis.send("EXISTS", harness.keys.threadLiveRunOutline("thr")).int == 0)
        let state = try await harness.redis.send("HMGET", harness.keys.threadLogState("thr"), "live", "livebytes")
        #expect(state.array?.allSatisfy(\.isNull) == true)
        await harness.stop()
    }

    @Test func pastTheByteCeilingTheLiveRunIsTrimmedLikeAnyOther() async throws {
        var harness = try await Harness.start()
        // Each streamed frame is over 150 bytes: 200 of them pass a 20,000-byte ceiling.
        let publisher = EventPublisher(keys: harness.keys, historySize: 50, historyTTLSeconds: 600, dedupWindow: 32, liveRunHistoryBytes: 20_000)
        var threads = ThreadLogCache(capacity: 10)
        let live = [started("thr_c", "run_c")] + (1...60).map { text("thr_c", "run_c", " t\($0)") }
        try await harness.publish(live, with: publisher, threads: &threads, batch: 10)
        #expect(try await harness.list(harness.keys.threadHistory("thr_c")).count == 61)
        let more = (61...200).map { text("thr_c", "run_c", " t\($0)") }
        try await harness.publish(more, with: publisher, threads: &threads, batch: 10)
        let history = try await harness.list(harness.keys.threadHistory("thr_c"))
        #expect(history.count == 50)
        #expect(history.last?.seq == 201)
        // The outline still knows the run started, though history lost it.
        let outline = try await harness.list(harness.keys.threadLiveRunOutline("thr_c"))
        #expect(outline.map(\.type) == [.agentStarted])
        await harness.stop()
    }

    @Test func theOutlineFollowsToolCallsAndNestedAgentsOfTheLiveRunOnly() async throws {
        var harness = try await Harness.start()
        let publisher = EventPublisher(keys: harness.keys, historySize: 10, historyTTLSeconds: 600, dedupWindow: 32)
        var threads = ThreadLogCache(capacity: 10)
        let call = EventPayload.ToolExecuting(toolCallID: "call_1", toolName: "calculator", arguments: ["expression": "1+1"])
        let run: [AgentEvent] =
            [
                started("thr_o", "run_o"), started("thr_o", "run_o", "assistant"),
                event("thr_o", "run_o", "assistant", .agentThinking(.init(thought: "Calling calculator."))),
                event("thr_o", "run_o", "assistant", .toolExecuting(call)),
                event(
                    "thr_o",
                    "run_o",
                    "assistant",
                    .toolCompleted(.init(toolCallID: "call_1", toolName: "calculator", status: .success, result: ["value": 2], durationMs: 1))
                ),
            ] + (1...40).map { text("thr_o", "run_o", " w\($0)") }
        // One event a batch, and all at once: the outline is the same either way.
        for batch in [1, 100] {
            let thread = "thr_o\(batch)"
            let events = run.map { AgentEvent(threadID: thread, runID: $0.runID, agentName: $0.agentName, payload: $0.payload) }
            try await harness.publish(events, with: publisher, threads: &threads, batch: batch)
            let outline = try await harness.list(harness.keys.threadLiveRunOutline(thread))
            #expect(outline.map(\.type) == [.agentStarted, .agentStarted, .toolExecuting, .toolCompleted])
            #expect(outline.map(\.seq) == [1, 2, 4, 5])
            #expect(try await harness.list(harness.keys.threadHistory(thread)).count == 45)
        }
        await harness.stop()
    }
}
