import HeraldCore
import HeraldProtocol
import Logging
import Redis

/// Turns a batch of workers' raw events into the next entries of their threads' logs: assigns each `seq`, appends
/// the frames to history, remembers the event ids and the partition entry, publishes on each thread's channel, and
/// moves the partition's cursor past the batch.
///
/// The relay numbers and frames the events itself, from what it remembers of each log (`ThreadLogCache`); one
/// Lua script call per group of whole threads (`publishScript`, at most `eventsPerCall` events) checks that this
/// relay still holds the partition's lease and that every log is as remembered, then appends — all of the call or,
/// when anything differs, none of it, and the logs as Redis holds them come back so the call is planned again. So
/// Redis does no per-event work beyond storing and sending the bytes, and a relay that dies mid-call leaves the
/// call all done or not done at all.
///
/// Each thread remembers the last partition entry it published (entry ids rise within a partition), so a successor
/// that re-reads from the partition's cursor skips what was done; and the ids of its latest events, so an event a
/// worker wrote twice (its write reached Redis but the reply was lost, so it retried with the same `event_id`) is
/// dropped too.
///
/// The thread's history is a list whose last element has `seq` = the thread's seq, so element `i` of a list of `n`
/// holds `seq - n + 1 + i`; `ThreadHistory` (gateway) and the watchdog read it that way. One channel message per
/// thread carries its frames of the batch joined by newlines (JSON text holds none of its own).
public struct EventPublisher: Sendable {
    /// What became of one event.
    public enum Outcome: Sendable, Equatable {
        case published(seq: Int)
        /// Already published: a worker's retried write, or an entry a successor relay read again.
        case duplicate
        /// The run had already ended (e.g. closed as `worker_lost`); a late event of it is dropped.
        case afterRunEnded
    }

    /// `HERALD_HISTORY_MAX_RUN_BYTES`'s default: a 10,000-event answer sent token by token takes about 2.5 MiB.
    public static let defaultLiveRunHistoryBytes = 16 * 1_048_576

    /// Times a batch is planned again because a log differed from what this relay knew, before giving up.
    static let maxAttempts = 4

    public let keys: RedisKeys
    public let historySize: Int
    /// The most bytes of a live run's frames history keeps beyond `historySize` (`HERALD_HISTORY_MAX_RUN_BYTES`);
    /// past it, the live run's oldest events are trimmed like any others.
    public let liveRunHistoryBytes: Int
    public let historyTTLSeconds: Int
    /// How long a thread's messages live after its last run (`HERALD_THREAD_RETENTION_DAYS`, in seconds).
    public let threadRetentionSeconds: Int
    public let dedupWindow: Int
    /// The most events one script call appends (`HERALD_RELAY_SCRIPT_EVENTS`): Redis runs nothing else meanwhile.
    public let eventsPerCall: Int

    public init(
        keys: RedisKeys,
        historySize: Int,
        historyTTLSeconds: Int,
        dedupWindow: Int,
        eventsPerCall: Int = 512,
        liveRunHistoryBytes: Int = EventPublisher.defaultLiveRunHistoryBytes,
        threadRetentionSeconds: Int = 30 * 86400
    ) {
        precondition(eventsPerCall > 0, "a script call appends at least one event")
        self.keys = keys
        self.historySize = historySize
        self.liveRunHistoryBytes = liveRunHistoryBytes
        self.historyTTLSeconds = historyTTLSeconds
        self.threadRetentionSeconds = threadRetentionSeconds
        self.dedupWindow = dedupWindow
        self.eventsPerCall = eventsPerCall
    }

    /// How long the expiry of a log's keys may go without renewal: well inside their lifetime, so a thread's log
    /// expires no sooner than `historyTTLSeconds` after its last event, less this.
    var expiryRenewal: Duration { .seconds(min(60, historyTTLSeconds / 8)) }

    /// Where a batch comes from: the partition, and the relay holding its lease.
    public struct Source: Sendable {
        public var partition: Int
        public var leaseHolder: String

        public init(partition: Int, leaseHolder: String) {
            self.partition = partition
            self.leaseHolder = leaseHolder
        }
    }

    /// One event of a batch: what a worker wrote, and the id of its partition stream entry.
    public struct Item: Sendable {
        public var event: PartitionEntry
        public var entryID: String

        public init(_ event: PartitionEntry, entryID: String) {
            self.event = event
            self.entryID = entryID
        }
    }

    /// Publishes a batch read from one partition, each thread's events in the order given, and with `cursor` moves
    /// the partition's cursor to that entry and trims the partition up to it. Returns one outcome per item, in the
    /// order given.
    ///
    /// The batch goes to Redis in script calls of at most `eventsPerCall` events, one after another, each all or
    /// nothing; a thread's events stay together in one call unless they alone exceed it. The cursor moves with
    /// the last call, so a relay that dies between calls leaves its successor to re-read the batch, and the
    /// threads skip what they published.
    ///
    /// `threads` is what this relay knows of the batch's thread logs; threads it does not know are read first,
    /// and it is brought up to date.
    ///
    /// Throws `RelayError.leaseLost` when the partition's lease is no longer this relay's: that call did nothing,
    /// and the lease's new holder reads the batch from the partition's cursor.
    public func publish(
        _ items: [Item],
        from source: Source,
        advancingCursorTo cursor: String? = nil,
        threads: inout ThreadLogCache,
        on redis: some RedisClientProtocol
    ) async throws -> [Outcome] {
        guard !items.isEmpty || cursor != nil else { return [] }
        var logs: [String: ThreadLog] = [:]
        var unknown: [String] = []
        for item in items where logs[item.event.threadID] == nil {
            if let log = threads.log(of: item.event.threadID) {
                logs[item.event.threadID] = log
            } else if !unknown.contains(item.event.threadID) {
                unknown.append(item.event.threadID)
            }
        }
        if !unknown.isEmpty {
            for (threadID, log) in zip(unknown, try await read(unknown, on: redis)) {
                logs[threadID] = log
            }
        }
        let calls = Self.calls(for: items.map(\.event.threadID), eventsPerCall: eventsPerCall)
        guard !calls.isEmpty else {
            _ = try await publishCall(items, [], from: source, cursor: cursor, logs: &logs, threads: &threads, on: redis)
            return []
        }
        var outcomes = [Outcome](repeating: .duplicate, count: items.count)
        for (number, call) in calls.enumerated() {
            let callOutcomes = try await publishCall(
                items,
                call,
                from: source,
                cursor: number == calls.count - 1 ? cursor : nil,
                logs: &logs,
                threads: &threads,
                on: redis
            )
            for (index, outcome) in zip(call, callOutcomes) { outcomes[index] = outcome }
        }
        return outcomes
    }

    /// The positions of each thread's items, threads in order of first appearance, each thread's in order.
    static func threadGroups(_ threadIDs: [String]) -> [[Int]] {
        var groups: [[Int]] = []
        var groupOf: [String: Int] = [:]
        for (position, threadID) in threadIDs.enumerated() {
            if let group = groupOf[threadID] {
                groups[group].append(position)
            } else {
                groupOf[threadID] = groups.count
                groups.append([position])
            }
        }
        return groups
    }

    /// Packs a batch's item indices into script calls: whole threads, in order of first appearance, at most
    /// `eventsPerCall` items a call; a thread with more than that is cut into consecutive calls.
    static func calls(for threadIDs: [String], eventsPerCall: Int) -> [[Int]] {
        var calls: [[Int]] = []
        var open: [Int] = []
        for var group in threadGroups(threadIDs) {
            if !open.isEmpty, open.count + group.count > eventsPerCall {
                calls.append(open)
                open = []
            }
            while group.count > eventsPerCall {
                calls.append(Array(group.prefix(eventsPerCall)))
                group.removeFirst(eventsPerCall)
            }
            open += group
        }
        if !open.isEmpty { calls.append(open) }
        // Within a call, items keep the batch's order; each thread's stay in order either way.
        return calls.map { $0.sorted() }
    }

    /// One script call: plans the items at `call` against `logs`, and plans again from the logs Redis reports when
    /// any differs. Returns one outcome per item of the call.
    private func publishCall(
        _ items: [Item],
        _ call: [Int],
        from source: Source,
        cursor: String?,
        logs: inout [String: ThreadLog],
        threads: inout ThreadLogCache,
        on redis: some RedisClientProtocol
    ) async throws -> [Outcome] {
        for _ in 0..<Self.maxAttempts {
            let plan = PublishPlan(
                items,
                selecting: call,
                logs: logs,
                dedupWindow: dedupWindow,
                now: .now,
                expiryRenewal: expiryRenewal,
                newEpoch: { Identifier.make("ep") }
            )
            let scriptCall = PublishScriptCall(plan, from: source, cursor: cursor, limits: scriptLimits, keys: keys)
            switch try PublishScriptReply(await redis.evalScript(Self.publishScript, keys: scriptCall.keys, arguments: scriptCall.arguments)) {
            case .leaseLost:
                throw RelayError.leaseLost(partition: source.partition)
            case .published:
                for append in plan.appends {
                    logs[append.threadID] = append.log
                    var remembered = append.log
                    remembered.forgetOldRuns()
                    threads.store(remembered, for: append.threadID)
                }
                return plan.outcomes
            case .logsDiffer(let differing):
                // Some logs are not as this relay knew them: take them as Redis holds them and plan again.
                for record in differing {
                    guard plan.appends.indices.contains(record.append) else {
                        throw RelayError.unexpectedReply("publish script named thread \(record.append + 1) of \(plan.appends.count)")
                    }
                    let append = plan.appends[record.append]
                    let listed = append.listedRuns
                    var log = ThreadLog(epoch: record.epoch, seq: record.seq, entry: record.entry, recent: record.recent)
                    log.endedRuns = logs[append.threadID]?.endedRuns ?? []
                    for run in record.endedRuns where listed.indices.contains(run) {
                        log.noteEnded(listed[run].id)
                    }
                    logs[append.threadID] = log
                    threads.forget(append.threadID)
                }
            }
        }
        throw RelayError.unexpectedReply("thread logs kept changing while this relay held partition \(source.partition)'s lease")
    }

    /// The logs of `threadIDs` as Redis holds them.
    func read(_ threadIDs: [String], on redis: some RedisClientProtocol) async throws -> [ThreadLog] {
        let reply = try await redis.evalScript(Self.readScript, keys: threadIDs.map { keys.threadLogState($0) }, arguments: [])
        return try ThreadLogReadReply.logs(reply, count: threadIDs.count)
    }

    private var scriptLimits: PublishScriptCall.Limits {
        PublishScriptCall.Limits(
            historySize: historySize,
            historyTTLSeconds: historyTTLSeconds,
            liveRunHistoryBytes: liveRunHistoryBytes,
            threadRetentionSeconds: threadRetentionSeconds
        )
    }
}
