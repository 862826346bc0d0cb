/// What the relay knows of one thread's log in Redis: enough to number, de-duplicate and frame the thread's
/// next events itself, so the publish script only checks that the log is still as remembered and appends.
///
/// Only the relay holding the thread's partition lease writes the log, so what it remembers stays true while it
/// holds the lease; the script compares `epoch` and `seq` (and the run-ended markers) anyway, and a log found
/// otherwise (another relay wrote it in between, it expired, this relay restarted) is read back and planned again.
struct ThreadLog: Sendable, Equatable {
    /// The log's epoch; nil when the thread has no log in Redis (new, or expired), so its next event starts one.
    var epoch: String?
    /// The `seq` of the log's latest event (0 before the first).
    var seq: Int
    /// The last partition entry published to this thread; entries up to it are ones a successor reads again.
    var lastEntry: StreamEntryID?
    /// The ids of the thread's latest events, to drop an event a worker wrote twice.
    var recent: RecentEventIDs
    /// Runs of this thread known to have ended, latest last: their late events are dropped.
    var endedRuns: [String]
    /// Runs the publish script found not ended, latest last. Only a terminal event this relay publishes ends
    /// them while the log stays as remembered, so the script need not check their markers again.
    var liveRuns: [String] = []
    /// When this relay last renewed the expiry of the log's keys; nil when it never did.
    var expiryRenewedAt: ContinuousClock.Instant?

    /// Ended (and live) runs a cached log keeps (`forgetOldRuns`); an older one's late event is caught by the
    /// script's marker check. While a batch is planned nothing is forgotten, so re-planning always converges.
    static let runsRemembered = 4

    init(
        epoch: String?,
        seq: Int,
        lastEntry: StreamEntryID?,
        recentEventIDs: [String],
        endedRuns: [String] = [],
        expiryRenewedAt: ContinuousClock.Instant? = nil
    ) {
        self.epoch = epoch
        self.seq = seq
        self.lastEntry = lastEntry
        self.recent = RecentEventIDs(recentEventIDs)
        self.endedRuns = endedRuns
        self.expiryRenewedAt = expiryRenewedAt
    }

    /// A log as Redis holds it in the thread's log state hash (`entry`, and `recent` as `|id|id|…|`).
    init(epoch: String, seq: Int, entry: String, recent: String) {
        self.init(
            epoch: epoch.isEmpty ? nil : epoch,
            seq: epoch.isEmpty ? 0 : seq,
            lastEntry: StreamEntryID(entry),
            recentEventIDs: recent.split(separator: "|").map(String.init)
        )
    }

    /// The latest event ids, oldest first.
    var recentEventIDs: [String] { recent.ordered }

    mutating func noteEnded(_ runID: String) {
        liveRuns.removeAll { $0 == runID }
        if !endedRuns.contains(runID) { endedRuns.append(runID) }
    }

    mutating func noteLive(_ runID: String) {
        if !liveRuns.contains(runID) { liveRuns.append(runID) }
    }

    /// Keeps the latest `runsRemembered` ended and live runs, for a log that goes back into the cache.
    mutating func forgetOldRuns() {
        if endedRuns.count > Self.runsRemembered { endedRuns.removeFirst(endedRuns.count - Self.runsRemembered) }
        if liveRuns.count > Self.runsRemembered { liveRuns.removeFirst(liveRuns.count - Self.runsRemembered) }
    }
}

/// The ids of a thread's latest events, oldest first, with their hashes beside them: every event is checked
/// against all of them, and comparing strings one by one was a third of the relay's planning time (a `Set`,
/// copied on write for every thread of every batch, cost as much).
struct RecentEventIDs: Sendable, Equatable {
    private(set) var ordered: [String]
    private var hashes: [Int]

    init(_ ids: [String] = []) {
        ordered = ids
        hashes = ids.map(\.hashValue)
    }

    var count: Int { ordered.count }

    func contains(_ id: String) -> Bool {
        let hash = id.hashValue
        for index in hashes.indices where hashes[index] == hash && ordered[index] == id {
            return true
        }
        return false
    }

    mutating func append(_ id: String) {
        ordered.append(id)
        hashes.append(id.hashValue)
    }

    /// Forgets all but the latest `count` ids.
    mutating func keepLatest(_ count: Int) {
        guard ordered.count > count else { return }
        ordered.removeFirst(ordered.count - count)
        hashes.removeFirst(hashes.count - count)
    }

    static func == (lhs: RecentEventIDs, rhs: RecentEventIDs) -> Bool { lhs.ordered == rhs.ordered }
}
