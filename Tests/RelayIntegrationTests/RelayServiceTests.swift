import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import Redis
import Testing

@testable import Relay

/// A relay under test: its own redis-server, key prefix and metrics.
private struct RelayHarness {
    let server: RedisServerProcess
    let redis: RedisClient
    let keys = RedisKeys(prefix: "t")
    let logger = Logger(label: "relay-test")
    let entriesMadeUp = NIOLockedValueBox(0)

    static func start() async throws -> RelayHarness {
        let server = try await RedisServerProcess.start()
        let redis = RedisClient(configuration: try RedisConfiguration(url: server.url), logger: Logger(label: "relay-test"))
        return RelayHarness(server: server, redis: redis)
    }

    func settings(partitions: Int = 2, historySize: Int = 1000, relayID: String = Identifier.make("relay")) throws -> RelaySettings {
        var common = CommonSettings(redis: try RedisConfiguration(url: server.url), keys: keys)
        common.eventPartitions = partitions
        common.historySize = historySize
        return RelaySettings(common: common, relayID: relayID, leaseDuration: .seconds(1))
    }

    func startRelay(_ settings: RelaySettings) -> Task<Void, any Error> {
        let service = RelayService(settings: settings, redis: redis, metrics: RelayMetrics(registry: PrometheusCollectorRegistry()), logger: logger)
        return Task { try await service.run() }
    }

    /// Appends an event to its thread's partition, as a worker does.
    func emit(_ event: AgentEvent, partitions: Int = 2) async throws {
        let partition = RedisKeys.partition(of: event.threadID, partitions: partitions)
        _ = try await redis.xadd(keys.eventPartition(partition), fields: PartitionEntry(event).fields)
    }

    /// Holds partition `partition`'s lease for `holder` (as a relay would), for `milliseconds`.
    func holdLease(_ partition: Int, for holder: String, milliseconds: Int = 60_000) async throws {
        _ = try await redis.send("SET", keys.partitionLease(partition), holder, "PX", String(milliseconds))
    }

    /// Publishes `events` straight through a publisher, as the holder of partition 0's lease, with made-up entry ids
    /// that rise from call to call as a partition's do.
    func publish(_ events: [AgentEvent], with publisher: EventPublisher, holder: String = "test-relay") async throws -> [EventPublisher.Outcome] {
        var threads = ThreadLogCache(capacity: 100)
        return try await publish(events, with: publisher, threads: &threads, holder: holder)
    }

    /// As `publish(_:with:holder:)`, by a relay that remembers `threads` from call to call.
    func publish(
        _ events: [AgentEvent],
        with publisher: EventPublisher,
        threads: inout ThreadLogCache,
        holder: String = "test-relay"
    ) async throws -> [EventPublisher.Outcome] {
        try await holdLease(0, for: holder)
        let first = entriesMadeUp.withLockedValue { made in
            defer { made += events.count }
            return made + 1
        }
        let items = events.enumerated().map { EventPublisher.Item(PartitionEntry($0.element), entryID: "1-\(first + $0.offset)") }
        return try await publisher.publish(items, from: EventPublisher.Source(partition: 0, leaseHolder: holder), threads: &threads, on: redis)
    }

    func history(_ thread: String) async throws -> [EventFrame] {
        let reply = try await redis.send("LRANGE", keys.threadHistory(thread), "0", "-1")
        return try (reply.array ?? []).map { try EventFrame.decode($0.string ?? "") }
    }

    func stop() async {
        await redis.close()
        await server.stop()
    }
}

private func thinking(_ thread: String, _ run: String, _ text: String) -> AgentEvent {
    AgentEvent(threadID: thread, runID: run, agentName: AgentName.supervisor, payload: .agentThinking(.init(thought: text)))
}

/// The value of an unlabelled metric, e.g. `herald_relay_duplicates_dropped_total`.
private func metric(_ registry: PrometheusCollectorRegistry, _ name: String) -> Double? {
    for row in registry.emitToString().split(separator: "\n") where row.hasPrefix(name + " ") {
        return Double(row.dropFirst(name.count + 1))
    }
    return nil
}

/// Collects every frame published on a thread's channel.
private actor ChannelRecorder {
    private(set) var frames: [EventFrame] = []
    private var waiters: [(Int, CheckedContinuation<Void, Never>)] = []

    func record(_ frame: EventFrame) {
        frames.append(frame)
        waiters.removeAll { count, continuation in
            guard frames.count >= count else { return false }
            continuation.resume()
            return true
        }
    }

    func waitFor(count: Int) async -> [EventFrame] {
        if frames.count < count, !Task.isCancelled {
            // Cancelled at the time limit, return what arrived and let the expectations fail.
            await withTaskCancellationHandler {
                await withCheckedContinuation { waiters.append((count, $0)) }
            } onCancel: {
                Task { await self.releaseAll() }
            }
        }
        return frames
    }

    private func releaseAll() {
        let waiting = waiters
        waiters.removeAll()
        for (_, continuation) in waiting { continuation.resume() }
    }

    static func listen(_ harness: RelayHarness, thread: String) async throws -> (ChannelRecorder, Task<Void, any Error>, Task<Void, any Error>) {
        let subscriber = RedisSubscriber(configuration: try RedisConfiguration(url: harness.server.url), logger: harness.logger)
        let running = Task { try await subscriber.run() }
        // `subscribe` confirms with the server only on a live connection; before that it just registers.
        while !subscriber.isConnected {
            try await Task.sleep(for: .milliseconds(5))
        }
        let subscription = try await subscriber.subscribe(harness.keys.threadChannel(thread))
        let recorder = ChannelRecorder()
        let reading = Task {
            for try await event in subscription {
                if case .message(let message) = event {
                    for frame in ThreadChannelMessage.frames(in: message) {
                        await recorder.record(try EventFrame.decode(String(buffer: frame)))
                    }
                }
            }
        }
        return (recorder, running, reading)
    }
}

@Suite(.timeLimit(.minutes(2)))
struct RelayServiceTests {
    @Test func publishesEachThreadsEventsInOrderWithConsecutiveSeqs() async throws {
        let harness = try await RelayHarness.start()
        let (recorder, subscriber, reader) = try await ChannelRecorder.listen(harness, thread: "thr_a")
        let (recorderB, subscriberB, readerB) = try await ChannelRecorder.listen(harness, thread: "thr_b")
        let relay = harness.startRelay(try harness.settings())
        for index in 1...50 {
            try await harness.emit(thinking("thr_a", "run_a", "a\(index)"))
            try await harness.emit(thinking("thr_b", "run_b", "b\(index)"))
        }
        let frames = await recorder.waitFor(count: 50)
        #expect(frames.map(\.seq) == Array(1...50))
        #expect(frames.map { if case .agentThinking(let t) = $0.event.payload { t.thought } else { "" } } == (1...50).map { "a\($0)" })
        #expect(Set(frames.map(\.epoch)).count == 1)
        #expect(await recorderB.waitFor(count: 50).map(\.seq) == Array(1...50))
        // The script appends to history before it publishes, so history is complete by now.
        #expect(try await harness.history("thr_b").map(\.seq) == Array(1...50))
        #expect(try await harness.history("thr_a") == frames)
        // Everything published was acknowledged and removed from the partition streams.
        for partition in 0..<2 {
            #expect(try await harness.redis.send("XLEN", harness.keys.eventPartition(partition)).int == 0)
        }
        relay.cancel()
        for task in [reader, subscriber, readerB, subscriberB] { task.cancel() }
        await harness.stop()
    }

    @Test func dropsARedeliveredEvent() async throws {
        let harness = try await RelayHarness.start()
        let (recorder, subscriber, reader) = try await ChannelRecorder.listen(harness, thread: "thr_d")
        let relay = harness.startRelay(try harness.settings())
        let event = thinking("thr_d", "run_d", "once")
        try await harness.emit(event)
        try await harness.emit(event)
        let marker = thinking("thr_d", "run_d", "marker")
        try await harness.emit(marker)
        let frames = await recorder.waitFor(count: 2)
        #expect(frames.map(\.event.eventID) == [event.eventID, marker.eventID])
        #expect(frames.map(\.seq) == [1, 2])
        relay.cancel()
        reader.cancel()
        subscriber.cancel()
        await harness.stop()
    }

    @Test func capsHistoryAndFreesTheThreadOnTheTerminalEvent() async throws {
        let harness = try await RelayHarness.start()
        _ = try await harness.redis.send("SET", harness.keys.threadActiveRun("thr_h"), "run_h")
        let (recorder, subscriber, reader) = try await ChannelRecorder.listen(harness, thread: "thr_h")
        let relay = harness.startRelay(try harness.settings(historySize: 5))
        for index in 1...7 {
            try await harness.emit(thinking("thr_h", "run_h", "\(index)"))
        }
        try await harness.emit(
            AgentEvent(
                threadID: "thr_h",
                runID: "run_h",
                agentName: AgentName.supervisor,
                payload: .agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 1))
            )
        )
        #expect(await recorder.waitFor(count: 8).map(\.seq) == Array(1...8))
        #expect(try await harness.history("thr_h").map(\.seq) == [4, 5, 6, 7, 8])
        #expect(try await harness.redis.send("EXISTS", harness.keys.threadActiveRun("thr_h")).int == 0)
        let ttl = try await harness.redis.send("TTL", harness.keys.threadHistory("thr_h")).int ?? -1
        #expect(ttl > 0)
        relay.cancel()
        reader.cancel()
        subscriber.cancel()
        await harness.stop()
    }

    @Test func aSuccessorPublishesWhatADeadRelayReadButDidNotPublish() async throws {
        let harness = try await RelayHarness.start()
        let partitions = 1
        let stream = harness.keys.eventPartition(0)
        let events = (1...6).map { thinking("thr_f", "run_f", "e\($0)") }
        for event in events { try await harness.emit(event, partitions: partitions) }
        // A relay that "dies" after reading all six and publishing the first two, before moving the cursor.
        let entries = try await harness.redis.xrange(stream)
        #expect(entries.count == 6)
        let publisher = EventPublisher(keys: harness.keys, historySize: 100, historyTTLSeconds: 60, dedupWindow: 32)
        let (recorder, subscriber, reader) = try await ChannelRecorder.listen(harness, thread: "thr_f")
        try await harness.holdLease(0, for: "dead-relay")
        let items = entries.prefix(2).map { EventPublisher.Item(try! #require(PartitionEntry($0)), entryID: $0.id) }
        var threads = ThreadLogCache(capacity: 10)
        let early = try await publisher.publish(
            items,
            from: EventPublisher.Source(partition: 0, leaseHolder: "dead-relay"),
            threads: &threads,
            on: harness.redis
        )
        #expect(early == [.published(seq: 1), .published(seq: 2)])
        #expect(try await harness.redis.send("EXISTS", harness.keys.partitionCursor(0)).int == 0)
        // Its lease lapses (deleted here rather than waited for).
        _ = try await harness.redis.send("DEL", harness.keys.partitionLease(0))

        // The successor reads from the cursor, skips the two the thread already published, publishes the other four.
        let registry = PrometheusCollectorRegistry()
        let service = RelayService(
            settings: try harness.settings(partitions: partitions),
            redis: harness.redis,
            metrics: RelayMetrics(registry: registry),
            logger: harness.logger
        )
        let relay = Task { try await service.run() }
        let frames = await recorder.waitFor(count: 6)
        #expect(frames.map(\.event.eventID) == events.map(\.eventID))
        #expect(frames.map(\.seq) == Array(1...6))
        try await waitUntil("the cursor is past the last entry") {
            try await harness.redis.send("GET", harness.keys.partitionCursor(0)).string == entries.last?.id
        }
        #expect(try await harness.redis.send("XLEN", stream).int == 0)
        // The relay counts a batch's outcomes after the script that moved the cursor returns: wait for the count.
        try await waitUntil("the two already published are counted as duplicates") {
            (metric(registry, "herald_relay_duplicates_dropped_total") ?? 0) >= 2
        }
        relay.cancel()
        _ = await relay.result
        #expect(metric(registry, "herald_relay_duplicates_dropped_total") == 2)
        #expect(try await harness.history("thr_f").map(\.seq) == Array(1...6))
        reader.cancel()
        subscriber.cancel()
        await harness.stop()
    }

    @Test func aRelayThatLostItsLeasePublishesNothingAndLeavesTheCursor() async throws {
        let harness = try await RelayHarness.start()
        let stream = harness.keys.eventPartition(0)
        let events = (1...3).map { thinking("thr_l", "run_l", "l\($0)") }
        for event in events { try await harness.emit(event, partitions: 1) }
        let entries = try await harness.redis.xrange(stream)
        // Another relay holds the lease now: the stalled one wakes up and tries to publish what it read.
        try await harness.holdLease(0, for: "successor")
        let publisher = EventPublisher(keys: harness.keys, historySize: 100, historyTTLSeconds: 60, dedupWindow: 32)
        let items = entries.map { EventPublisher.Item(try! #require(PartitionEntry($0)), entryID: $0.id) }
        var threads = ThreadLogCache(capacity: 10)
        await #expect(throws: RelayError.self) {
            try await publisher.publish(
                items,
                from: EventPublisher.Source(partition: 0, leaseHolder: "stalled"),
                advancingCursorTo: entries[2].id,
                threads: &threads,
                on: harness.redis
            )
        }
        #expect(try await harness.redis.send("EXISTS", harness.keys.threadLogState("thr_l")).int == 0)
        #expect(try await harness.history("thr_l").isEmpty)
        // Nor did it move the cursor or trim the partition.
        #expect(try await harness.redis.send("EXISTS", harness.keys.partitionCursor(0)).int == 0)
        #expect(try await harness.redis.send("XLEN", stream).int == 3)
        await harness.stop()
    }

    /// With `remembering`, one relay publishes every call and knows the log from the last; without, each call is a
    /// new relay's (a successor's) that reads the log from Redis.
    @Test(arguments: [true, false])
    func aThreadSkipsEntriesItPublishedAndKeepsItsNewestWhenACallHoldsOnlyOldOnes(remembering: Bool) async throws {
        let harness = try await RelayHarness.start()
        let publisher = EventPublisher(keys: harness.keys, historySize: 100, historyTTLSeconds: 60, dedupWindow: 4)
        try await harness.holdLease(0, for: "r")
        let source = EventPublisher.Source(partition: 0, leaseHolder: "r")
        let events = (1...6).map { thinking("thr_r", "run_r", "r\($0)") }
        var remembered = ThreadLogCache(capacity: 10)
        func publish(_ items: [EventPublisher.Item]) async throws -> [EventPublisher.Outcome] {
            var fresh = ThreadLogCache(capacity: 10)
            if remembering {
                return try await publisher.publish(items, from: source, threads: &remembered, on: harness.redis)
            }
            return try await publisher.publish(items, from: source, threads: &fresh, on: harness.redis)
        }
        func items(_ range: ClosedRange<Int>) -> [EventPublisher.Item] {
            range.map { EventPublisher.Item(PartitionEntry(events[$0 - 1]), entryID: "1700000000000-\($0)") }
        }
        #expect(try await publish(items(1...4)) == (1...4).map { .published(seq: $0) })
        // A successor reads 2...3 again: nothing, and the thread still knows entry 4 is its newest.
        #expect(try await publish(items(2...3)) == [.duplicate, .duplicate])
        #expect(try await publish(items(3...6)) == [.duplicate, .duplicate, .published(seq: 5), .published(seq: 6)])
        // The dedup window holds the 4 latest ids: a worker's retried write of event 6, in a new entry, is dropped.
        let retried = EventPublisher.Item(PartitionEntry(events[5]), entryID: "1700000000001-0")
        #expect(try await publish([retried]) == [.duplicate])
        let state = try await harness.redis.send("HGET", harness.keys.threadLogState("thr_r"), "count")
        #expect(state.int == 4)
        #expect(try await harness.history("thr_r").map(\.seq) == Array(1...6))
        await harness.stop()
    }

    @Test func aRelayWhoseRememberedLogIsOutOfDateReadsItBackAndNumbersOn() async throws {
        let harness = try await RelayHarness.start()
        let publisher = EventPublisher(keys: harness.keys, historySize: 100, historyTTLSeconds: 60, dedupWindow: 32)
        let events = (1...8).map { thinking("thr_o", "run_o", "o\($0)") }
        var first = ThreadLogCache(capacity: 10)
        var second = ThreadLogCache(capacity: 10)
        #expect(try await harness.publish(Array(events[0..<3]), with: publisher, threads: &first) == (1...3).map { .published(seq: $0) })
        // Another relay publishes to the thread meanwhile (it held the lease while this one stalled).
        #expect(
            try await harness.publish(Array(events[3..<5]), with: publisher, threads: &second, holder: "other") == [
                .published(seq: 4), .published(seq: 5),
            ]
        )
        #expect(try await harness.publish([events[5]], with: publisher, threads: &first) == [.published(seq: 6)])
        let history = try await harness.history("thr_o")
        #expect(history.map(\.seq) == Array(1...6))
        #expect(history.map(\.event.eventID) == events.prefix(6).map(\.eventID))
        #expect(Set(history.map(\.epoch)).count == 1)

        // The log expires: the next event starts a new epoch from 1.
        _ = try await harness.redis.send("DEL", harness.keys.threadLogState("thr_o"), harness.keys.threadHistory("thr_o"))
        #expect(try await harness.publish([events[6]], with: publisher, threads: &first) == [.published(seq: 1)])
        let restarted = try await harness.history("thr_o")
        #expect(restarted.map(\.seq) == [1])
        #expect(restarted[0].epoch != history[0].epoch)
        #expect(try await harness.redis.send("TTL", harness.keys.threadLogState("thr_o")).int ?? -1 > 0)

        // Its run was closed by a relay before this one (its ended marker is set): a relay that has not seen the run
        // live checks the marker, drops the late event and leaves the log as it was.
        _ = try await harness.redis.send("SET", harness.keys.runEnded("run_o"), "1")
        var successor = ThreadLogCache(capacity: 10)
        #expect(try await harness.publish([events[7]], with: publisher, threads: &successor) == [.afterRunEnded])
        #expect(try await harness.history("thr_o").map(\.seq) == [1])
        await harness.stop()
    }

    @Test func lateEventsOfManyEndedRunsInOneBatchAreAllDroppedAndThePartitionMovesOn() async throws {
        let harness = try await RelayHarness.start()
        let publisher = EventPublisher(keys: harness.keys, historySize: 100, historyTTLSeconds: 60, dedupWindow: 32)
        // Six runs of one thread were closed (say as worker_lost) before their workers' last events came: more
        // than a cached log keeps, so re-planning must not forget what the script just reported.
        let runs = (1...6).map { "run_late\($0)" }
        for run in runs { _ = try await harness.redis.send("SET", harness.keys.runEnded(run), "1") }
        let late = runs.map { thinking("thr_late", $0, "late") }
        let live = thinking("thr_late", "run_live", "on time")
        var threads = ThreadLogCache(capacity: 10)
        let outcomes = try await harness.publish(late + [live], with: publisher, threads: &threads)
        #expect(outcomes == Array(repeating: .afterRunEnded, count: runs.count) + [.published(seq: 1)])
        #expect(try await harness.history("thr_late").map(\.event.eventID) == [live.eventID])
        // Remembered or not, the next late events are dropped again.
        #expect(try await harness.publish([thinking("thr_late", runs[0], "later")], with: publisher, threads: &threads) == [.afterRunEnded])
        await harness.stop()
    }

    @Test func aLogsKeysBothExpireEvenWhenOneWasRecreatedWithoutTheOther() async throws {
        let harness = try await RelayHarness.start()
        let publisher = EventPublisher(keys: harness.keys, historySize: 100, historyTTLSeconds: 600, dedupWindow: 32)
        var threads = ThreadLogCache(capacity: 10)
        _ = try await harness.publish([thinking("thr_t", "run_t", "1")], with: publisher, threads: &threads)
        // History vanishes while the log's state stays: the list the next publish creates must expire too.
        _ = try await harness.redis.send("DEL", harness.keys.threadHistory("thr_t"))
        _ = try await harness.publish([thinking("thr_t", "run_t", "2")], with: publisher, threads: &threads)
        for key in [harness.keys.threadLogState("thr_t"), harness.keys.threadHistory("thr_t")] {
            #expect(try await harness.redis.send("TTL", key).int ?? -1 > 0, "\(key) has no expiry")
        }
        #expect(try await harness.history("thr_t").map(\.seq) == [2])
        await harness.stop()
    }

    @Test func streamEntryIDsOrderAsRedisOrdersThemAndTheNextCountsOnInItsMillisecond() {
        #expect(StreamEntryID("1700000000000-0")?.next?.description == "1700000000000-1")
        #expect(StreamEntryID("1700000000000-41")?.next?.description == "1700000000000-42")
        #expect(StreamEntryID("5-18446744073709551615")?.next?.description == "6-0")
        #expect(StreamEntryID("18446744073709551615-18446744073709551615")?.next == nil)
        #expect(StreamEntryID("junk") == nil)
        #expect(StreamEntryID("12-") == nil)
        #expect(StreamEntryID("9-100")! < StreamEntryID("10-0")!)
        #expect(StreamEntryID("10-2")! < StreamEntryID("10-10")!)
    }

    @Test func publishesInOrderRightAfterTheScriptCacheWasFlushed() async throws {
        let harness = try await RelayHarness.start()
        let publisher = EventPublisher(keys: harness.keys, historySize: 100, historyTTLSeconds: 60, dedupWindow: 32)
        let events = (1...5).map { thinking("thr_s", "run_s", "s\($0)") }
        _ = try await harness.redis.send("SCRIPT", "FLUSH")
        let outcomes = try await harness.publish(events, with: publisher)
        #expect(outcomes == (1...5).map { .published(seq: $0) })
        #expect(try await harness.history("thr_s").map(\.event.eventID) == events.map(\.eventID))
        await harness.stop()
    }

    /// With 7 events per script call the batch goes in many calls, and the long thread's events across several.
    @Test(arguments: [512, 7])
    func aBatchMixingThreadsDuplicatesAndAnEndedRunKeepsEachThreadsOrder(eventsPerCall: Int) async throws {
        let harness = try await RelayHarness.start()
        let publisher = EventPublisher(keys: harness.keys, historySize: 1000, historyTTLSeconds: 60, dedupWindow: 32, eventsPerCall: eventsPerCall)
        // More events of one thread than one script call takes, interleaved with another thread's.
        let long = (1...300).map { thinking("thr_long", "run_long", "l\($0)") }
        let short = (1...3).map { thinking("thr_short", "run_short", "s\($0)") }
        let terminal = AgentEvent(
            threadID: "thr_short",
            runID: "run_short",
            agentName: AgentName.supervisor,
            payload: .agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 1))
        )
        let late = thinking("thr_short", "run_short", "late")
        var batch = Array(long[0..<150]) + [short[0], short[1], short[1], terminal, late] + Array(long[150...]) + [short[2]]
        // A worker's retried write, a few events after its original, which the previous script call published.
        batch.insert(long[120], at: 131)
        let outcomes = try await harness.publish(batch, with: publisher)

        var expected: [EventPublisher.Outcome] = (1...150).map { .published(seq: $0) }
        expected += [.published(seq: 1), .published(seq: 2), .duplicate, .published(seq: 3), .afterRunEnded]
        expected += (151...300).map { .published(seq: $0) }
        expected += [.afterRunEnded]
        expected.insert(.duplicate, at: 131)
        #expect(outcomes == expected)
        #expect(try await harness.history("thr_long").map(\.event.eventID) == long.map(\.eventID))
        #expect(try await harness.history("thr_short").map(\.event.eventID) == [short[0], short[1], terminal].map(\.eventID))
        // A worker's retried write of a thread's latest events changes nothing.
        let again = try await harness.publish(Array(long.suffix(20)) + [short[2]], with: publisher)
        #expect(again == Array(repeating: .duplicate, count: 20) + [.afterRunEnded])
        #expect(try await harness.history("thr_long").count == 300)
        await harness.stop()
    }

    @Test func readsPartitionEntriesOfThisAndEarlierReleases() throws {
        let event = AgentEvent(
            threadID: "thr_p",
            runID: "run_p",
            agentName: AgentName.supervisor,
            payload: .agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 3))
        )
        func entry(_ fields: [(String, RedisArgument)]) -> RedisStreamEntry {
            RedisStreamEntry(id: "1-1", fields: fields.map { (name: $0.0, value: ByteBuffer(bytes: $0.1.bytes)) })
        }
        // The JSON's key order is the encoder's; what matters is the event it holds and the routing values.
        func same(_ entry: PartitionEntry?, _ expected: PartitionEntry) -> Bool {
            guard let entry else { return false }
            return [entry.threadID, entry.runID, entry.eventID, entry.agentName, entry.type.rawValue, entry.timestamp]
                == [expected.threadID, expected.runID, expected.eventID, expected.agentName, expected.type.rawValue, expected.timestamp]
                && (try? AgentEvent.decode(entry.json)) == (try? AgentEvent.decode(expected.json))
        }
        let written = PartitionEntry(event)
        #expect(written.fields.map(\.0) == [PartitionEntry.Field.event, PartitionEntry.Field.route])
        let current = try #require(PartitionEntry(entry(written.fields)))
        #expect(current == written)
        #expect(current.isRunTerminal)
        // The previous release: one field per routing value.
        let separate: [(String, RedisArgument)] = [
            ("event", RedisArgument(event.encodedJSON())), ("thread", "thr_p"), ("run", "run_p"), ("id", RedisArgument(event.eventID)),
            ("agent", RedisArgument(AgentName.supervisor)), ("type", "agent_completed"), ("ts", RedisArgument(event.timestamp)),
        ]
        #expect(same(PartitionEntry(entry(separate)), current))
        // Before that: the JSON alone.
        #expect(same(PartitionEntry(entry([("event", RedisArgument(event.encodedJSON()))])), current))
        // A route with a value missing, or an unknown type, is no event.
        #expect(PartitionEntry(entry([("event", RedisArgument(event.encodedJSON())), ("route", "thr_p\u{1F}run_p")])) == nil)
        let unknownType = ["thr_p", "run_p", event.eventID, "supervisor", "agent_exploded", event.timestamp].joined(separator: "\u{1F}")
        #expect(PartitionEntry(entry([("event", RedisArgument(event.encodedJSON())), ("route", RedisArgument(unknownType))])) == nil)
    }

    @Test func publishesAnEntryThatCarriesOnlyTheEventJSON() async throws {
        // Entries written before the routing fields existed (a worker of the previous release).
        let harness = try await RelayHarness.start()
        let (recorder, subscriber, reader) = try await ChannelRecorder.listen(harness, thread: "thr_old")
        let relay = harness.startRelay(try harness.settings())
        let event = thinking("thr_old", "run_old", "from an older worker")
        let partition = RedisKeys.partition(of: event.threadID, partitions: 2)
        _ = try await harness.redis.xadd(
            harness.keys.eventPartition(partition),
            fields: [(PartitionEntry.Field.event, RedisArgument(event.encodedJSON()))]
        )
        _ = try await harness.redis.xadd(harness.keys.eventPartition(partition), fields: [(PartitionEntry.Field.event, "not json")])
        let marker = thinking("thr_old", "run_old", "marker")
        try await harness.emit(marker)
        let frames = await recorder.waitFor(count: 2)
        #expect(frames.map(\.event) == [event, marker])
        relay.cancel()
        reader.cancel()
        subscriber.cancel()
        await harness.stop()
    }

    @Test func relaysSharePartitionsAndReleaseThemOnShutdown() async throws {
        let harness = try await RelayHarness.start()
        let first = harness.startRelay(try harness.settings(partitions: 4, relayID: "relay-one"))
        let second = harness.startRelay(try harness.settings(partitions: 4, relayID: "relay-two"))
        var holders: [String] = []
        // Leases settle within a few upkeep rounds and nothing announces it: poll the lease keys (bounded).
        for _ in 0..<200 {
            holders = try await (0..<4).asyncMap { try await harness.redis.send("GET", harness.keys.partitionLease($0)).string ?? "" }
            if holders.filter({ $0 == "relay-one" }).count == 2, holders.filter({ $0 == "relay-two" }).count == 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(holders.sorted() == ["relay-one", "relay-one", "relay-two", "relay-two"])
        second.cancel()
        _ = await second.result
        let afterShutdown = try await (0..<4).asyncMap { try await harness.redis.send("GET", harness.keys.partitionLease($0)).string }
        #expect(!afterShutdown.contains("relay-two"))
        first.cancel()
        await harness.stop()
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
