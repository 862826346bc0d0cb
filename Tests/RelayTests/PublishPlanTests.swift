import HeraldCore
import HeraldProtocol
import Testing

@testable import Relay

private func thinking(_ thread: String, _ run: String, _ text: String) -> AgentEvent {
    AgentEvent(threadID: thread, runID: run, agentName: AgentName.supervisor, payload: .agentThinking(.init(thought: text)))
}

private func completed(_ thread: String, _ run: String) -> AgentEvent {
    AgentEvent(
        threadID: thread,
        runID: run,
        agentName: AgentName.supervisor,
        payload: .agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 1))
    )
}

private func items(_ events: [AgentEvent], firstEntry: Int = 1) -> [EventPublisher.Item] {
    events.enumerated().map { EventPublisher.Item(PartitionEntry($0.element), entryID: "1700000000000-\(firstEntry + $0.offset)") }
}

private func plan(
    _ items: [EventPublisher.Item],
    _ logs: [String: ThreadLog],
    dedupWindow: Int = 32,
    now: ContinuousClock.Instant = .now
) -> PublishPlan {
    PublishPlan(items, logs: logs, dedupWindow: dedupWindow, now: now, expiryRenewal: .seconds(60), newEpoch: { "ep_new" })
}

/// The relay's numbering of a batch, without Redis: the rules the publish script then only checks and applies.
@Suite struct PublishPlanTests {
    @Test func numbersEachThreadsEventsOnFromItsLogAndFramesThemWithSeqAndEpoch() throws {
        let a = (1...3).map { thinking("thr_a", "run_a", "a\($0)") }
        let b = (1...2).map { thinking("thr_b", "run_b", "b\($0)") }
        let logs = [
            "thr_a": ThreadLog(epoch: "ep_a", seq: 41, lastEntry: StreamEntryID("1600000000000-9"), recentEventIDs: ["evt_old"]),
            "thr_b": ThreadLog(epoch: nil, seq: 0, lastEntry: nil, recentEventIDs: []),
        ]
        let result = plan(items([a[0], b[0], a[1], b[1], a[2]]), logs)
        #expect(result.outcomes == [.published(seq: 42), .published(seq: 1), .published(seq: 43), .published(seq: 2), .published(seq: 44)])
        #expect(result.appends.map(\.threadID) == ["thr_a", "thr_b"])
        let threadA = result.appends[0]
        #expect(!threadA.startsLog && threadA.expectedSeq == 41)
        #expect(threadA.log.seq == 44 && threadA.log.epoch == "ep_a")
        #expect(threadA.log.lastEntry == StreamEntryID("1700000000000-5"))
        #expect(threadA.log.recentEventIDs == ["evt_old"] + a.map(\.eventID))
        // A frame is exactly what clients decode: the event with its seq and epoch.
        let frames = try threadA.frames.map { try EventFrame.decode($0) }
        #expect(frames.map(\.seq) == [42, 43, 44])
        #expect(frames.map(\.epoch) == ["ep_a", "ep_a", "ep_a"])
        #expect(frames.map(\.event) == a)
        // A thread without a log starts one, in a new epoch.
        let threadB = result.appends[1]
        #expect(threadB.startsLog && threadB.expectedSeq == 0 && threadB.log.epoch == "ep_new")
        #expect(try threadB.frames.map { try EventFrame.decode($0).epoch } == ["ep_new", "ep_new"])
    }

    @Test func dropsEntriesPublishedBeforeAndEventsWrittenTwice() {
        let events = (1...5).map { thinking("thr_d", "run_d", "d\($0)") }
        // Entries 1 and 2 were published (the log's newest entry is 2); event 3's id is among the latest too.
        let log = ThreadLog(epoch: "ep", seq: 7, lastEntry: StreamEntryID("1700000000000-2"), recentEventIDs: [events[2].eventID])
        let batch = items(events) + [EventPublisher.Item(PartitionEntry(events[3]), entryID: "1700000000000-99")]
        let result = plan(batch, ["thr_d": log])
        #expect(result.outcomes == [.duplicate, .duplicate, .duplicate, .published(seq: 8), .published(seq: 9), .duplicate])
        #expect(result.appends[0].frames.count == 2)
        #expect(result.appends[0].log.lastEntry == StreamEntryID("1700000000000-99"))
        // A batch of entries all published before leaves the log's newest entry as it was.
        let replay = plan(items(Array(events.prefix(2))), ["thr_d": log])
        #expect(replay.outcomes == [.duplicate, .duplicate])
        #expect(!replay.appends[0].entryChanged && !replay.appends[0].recentChanged)
        #expect(replay.appends[0].log.lastEntry == StreamEntryID("1700000000000-2"))
    }

    @Test func endsARunOnItsTerminalEventAndDropsItsLateEvents() {
        let log = ThreadLog(epoch: "ep", seq: 0, lastEntry: nil, recentEventIDs: [], endedRuns: ["run_old"])
        let batch = [
            thinking("thr_e", "run_old", "late"), thinking("thr_e", "run_e", "1"), completed("thr_e", "run_e"), thinking("thr_e", "run_e", "after"),
        ]
        let result = plan(items(batch), ["thr_e": log])
        #expect(result.outcomes == [.afterRunEnded, .published(seq: 1), .published(seq: 2), .afterRunEnded])
        #expect(result.appends[0].runs.map(\.id) == ["run_e"])
        #expect(result.appends[0].runs.map(\.ends) == [true])
        #expect(result.appends[0].log.endedRuns == ["run_old", "run_e"])
    }

    @Test func keepsTheLatestEventIDsUpToTheWindow() {
        let events = (1...10).map { thinking("thr_w", "run_w", "w\($0)") }
        let result = plan(items(events), ["thr_w": ThreadLog(epoch: "ep", seq: 0, lastEntry: nil, recentEventIDs: [])], dedupWindow: 4)
        #expect(result.appends[0].log.recentEventIDs == events.suffix(4).map(\.eventID))
    }

    @Test func renewsTheLogsExpiryWhenItStartsOrWhenTheRenewalIsDue() {
        let now = ContinuousClock.now
        let event = [thinking("thr_x", "run_x", "x")]
        func renews(_ log: ThreadLog) -> Bool { plan(items(event), ["thr_x": log], now: now).appends[0].renewsExpiry }
        #expect(renews(ThreadLog(epoch: nil, seq: 0, lastEntry: nil, recentEventIDs: [])))
        #expect(renews(ThreadLog(epoch: "ep", seq: 3, lastEntry: nil, recentEventIDs: [])))
        #expect(!renews(ThreadLog(epoch: "ep", seq: 3, lastEntry: nil, recentEventIDs: [], expiryRenewedAt: now - .seconds(59))))
        #expect(renews(ThreadLog(epoch: "ep", seq: 3, lastEntry: nil, recentEventIDs: [], expiryRenewedAt: now - .seconds(60))))
        #expect(
            plan(items(event), ["thr_x": ThreadLog(epoch: "ep", seq: 3, lastEntry: nil, recentEventIDs: [])], now: now).appends[0].log.expiryRenewedAt
                == now
        )
    }

    @Test func readsALogAsRedisHoldsIt() {
        let log = ThreadLog(epoch: "ep_r", seq: 12, entry: "1700000000000-4", recent: "|evt_1|evt_2|")
        #expect(log == ThreadLog(epoch: "ep_r", seq: 12, lastEntry: StreamEntryID("1700000000000-4"), recentEventIDs: ["evt_1", "evt_2"]))
        // No epoch: no log, whatever else is left.
        #expect(ThreadLog(epoch: "", seq: 5, entry: "", recent: "") == ThreadLog(epoch: nil, seq: 0, lastEntry: nil, recentEventIDs: []))
    }
}

@Suite struct ScriptCallPackingTests {
    @Test func packsWholeThreadsUpToTheLimitAndCutsOnlyAThreadThatAloneExceedsIt() {
        let threads = ["a", "b", "a", "c", "c", "c", "d", "b", "e", "e", "e", "e", "e", "e"]
        let calls = EventPublisher.calls(for: threads, eventsPerCall: 4)
        // a and b (4 events) · c and d (4) · e alone exceeds 4: its first four, then the rest
        #expect(calls.map { $0.map { threads[$0] } } == [["a", "b", "a", "b"], ["c", "c", "c", "d"], ["e", "e", "e", "e"], ["e", "e"]])
        // Every item once, and each thread's items in the batch's order across calls.
        #expect(calls.flatMap { $0 }.sorted() == Array(threads.indices))
        for thread in Set(threads) {
            let order = calls.flatMap { $0 }.filter { threads[$0] == thread }
            #expect(order == order.sorted())
        }
        #expect(EventPublisher.calls(for: [], eventsPerCall: 4).isEmpty)
    }
}

@Suite struct ThreadLogCacheTests {
    private func log(_ seq: Int) -> ThreadLog { ThreadLog(epoch: "ep", seq: seq, lastEntry: nil, recentEventIDs: []) }

    @Test func holdsAtMostItsCapacityAndKeepsWhatWasUsedLately() {
        var cache = ThreadLogCache(capacity: 4)
        for index in 0..<100 {
            cache.store(log(index), for: "thr_\(index)")
            #expect(cache.count <= 4)
            // One thread in constant use is never forgotten.
            if index > 0 { #expect(cache.log(of: "thr_0") == log(0)) }
        }
        #expect(cache.log(of: "thr_99") == log(99))
        #expect(cache.log(of: "thr_50") == nil)
        cache.forget("thr_0")
        #expect(cache.log(of: "thr_0") == nil)
    }

    @Test func aBatchTellsTheScriptWhereTheLiveRunStartsAndEndsAndWhatOutlinesIt() throws {
        let start = AgentEvent(
            threadID: "thr_l",
            runID: "run_2",
            agentName: AgentName.supervisor,
            payload: .agentStarted(.init(agentName: AgentName.supervisor))
        )
        let streamed = (1...3).map {
            AgentEvent(
                threadID: "thr_l",
                runID: "run_2",
                agentName: "assistant",
                payload: .partialResult(.init(content: "w\($0)", isComplete: false))
            )
        }
        let log = ThreadLog(epoch: "ep", seq: 10, lastEntry: nil, recentEventIDs: [])
        // The previous run's end, then the next run's start: the batch starts a live run at seq 12.
        let result = plan(items([completed("thr_l", "run_1"), start] + streamed), ["thr_l": log])
        let append = try #require(result.appends.first)
        let startBytes = append.frames[1...].reduce(0) { $0 + $1.utf8.count }
        #expect(append.liveRun == .starts(seq: 12, bytes: startBytes))
        #expect(append.outline == [2])
        // Streamed text alone continues the live run, with its bytes; a terminal event ends it.
        let more = plan(items(streamed, firstEntry: 10), ["thr_l": append.log])
        #expect(more.appends.first?.liveRun == .continues(bytes: more.appends[0].frames.reduce(0) { $0 + $1.utf8.count }))
        #expect(more.appends.first?.outline == [])
        let end = plan(items([completed("thr_l", "run_2")], firstEntry: 20), ["thr_l": append.log])
        #expect(end.appends.first?.liveRun == .ends)
        #expect(end.appends.first?.outline == [])
    }
}
