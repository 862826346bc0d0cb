import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import Redis

/// The threads API's reads and writes (DESIGN.md section 9): a user's threads, their messages, renaming and
/// deleting. Every call is for one user; a thread that is not theirs is `nil`, as one that does not exist.
struct ThreadStore: Sendable {
    let redis: RedisClient
    let keys: RedisKeys
    let index: ThreadIndex
    let runs: RunStore
    /// How long a delete waits for the thread's active run to end after cancelling it, before removing the thread
    /// anyway (a run whose worker died ends with `worker_lost` within the run lease).
    let runEndWait: Duration

    init(redis: RedisClient, keys: RedisKeys, retentionSeconds: Int, runs: RunStore, runEndWait: Duration) {
        self.redis = redis
        self.keys = keys
        self.index = ThreadIndex(redis: redis, keys: keys, retentionSeconds: retentionSeconds)
        self.runs = runs
        self.runEndWait = runEndWait
    }

    // MARK: Threads

    /// A page of the user's threads, most recently used first, and the cursor of the next page when there is one.
    func threads(of userID: String, limit: Int, after cursor: ThreadListCursor?) async throws -> ThreadPage {
        var found: [ThreadSummary] = []
        var position = cursor
        // Entries whose thread has gone are dropped as they are met; reading on fills the page.
        while found.count < limit {
            let wanted = limit - found.count + 1
            let entries = try await index.entries(of: userID, after: position, count: wanted)
            let summaries = try await summaries(of: entries.map(\.threadID))
            for (entry, summary) in zip(entries, summaries) {
                position = entry
                guard let summary, summary.owner == userID else {
                    try await index.remove(entry.threadID, of: userID)
                    continue
                }
                if found.count == limit {
                    // One more exists: the page ends at the one before it.
                    return ThreadPage(threads: found, nextCursor: Self.cursorText(after: found, in: entries))
                }
                found.append(summary.thread)
            }
            if entries.count < wanted { break }
        }
        return ThreadPage(threads: found, nextCursor: nil)
    }

    /// The cursor after the last thread of a page: its entry in the index.
    private static func cursorText(after page: [ThreadSummary], in entries: [ThreadListCursor]) -> String? {
        guard let last = page.last, let entry = entries.last(where: { $0.threadID == last.threadID }) else { return nil }
        return entry.text
    }

    /// The thread, when it is the user's.
    func thread(_ threadID: String, of userID: String) async throws -> ThreadSummary? {
        guard let found = try await summaries(of: [threadID]).first ?? nil, found.owner == userID else { return nil }
        return found.thread
    }

    /// Renames the user's thread; nil when it is not theirs.
    func rename(_ threadID: String, of userID: String, to title: String) async throws -> ThreadSummary? {
        let reply = try await redis.evalScript(
            Self.renameScript,
            keys: [keys.thread(threadID)],
            arguments: [RedisArgument(userID), RedisArgument(title)]
        )
        guard reply.int == 1 else { return nil }
        return try await thread(threadID, of: userID)
    }

    static let renameScript = RedisScript(
        """
        -- KEYS: thread record
        -- ARGV: user id, title
        if redis.call('HGET', KEYS[1], '\(ThreadRecord.Field.owner)') ~= ARGV[1] then
          return 0
        end
        redis.call('HSET', KEYS[1], '\(ThreadRecord.Field.title)', ARGV[2])
        return 1
        """
    )

    /// Deletes the user's thread: cancels its active run and waits (up to `runEndWait`) for the run to end, then
    /// removes every key of the thread and of its runs, and the thread from the user's list. False when the thread
    /// is not theirs.
    func delete(_ threadID: String, of userID: String) async throws -> Bool {
        guard try await runs.owner(ofThread: threadID) == userID else { return false }
        // The record goes first: from then on the relay writes no more messages for the thread, and the worker no
        // more conversation, whatever the cancelled run still emits.
        let runIDs = try await redis.send("LRANGE", keys.threadRuns(threadID), 0, -1).array?.compactMap(\.string) ?? []
        if let active = try await runs.activeRun(ofThread: threadID) {
            _ = try await runs.cancel(runID: active.runID, userID: userID)
            _ = try await redis.send("UNLINK", keys.thread(threadID))
            try await waitForRunEnd(threadID)
        }
        var doomed = [
            keys.thread(threadID), keys.threadActiveRun(threadID), keys.threadHistory(threadID), keys.threadLogState(threadID),
            keys.threadLiveRunOutline(threadID), keys.threadConversation(threadID), keys.threadRuns(threadID),
            keys.threadMessages(threadID), keys.threadAnswerText(threadID),
        ]
        // Run records are keyed by run alone (a worker finds a run by its id): each of the thread's goes with it.
        let knownRuns = Set(runIDs).union(try await activeRunID(threadID).map { [$0] } ?? [])
        for runID in knownRuns {
            doomed += [keys.run(runID), keys.runCancelled(runID), keys.runEnded(runID), keys.runLease(runID)]
        }
        _ = try await redis.send(["UNLINK"] + doomed.map { RedisArgument($0) })
        try await index.remove(threadID, of: userID)
        return true
    }

    private func activeRunID(_ threadID: String) async throws -> String? {
        try await redis.send("GET", keys.threadActiveRun(threadID)).string
    }

    /// Waits until the thread has no active run, or `runEndWait` has passed.
    private func waitForRunEnd(_ threadID: String) async throws {
        let deadline = ContinuousClock.now + runEndWait
        var pause = Duration.milliseconds(20)
        while try await activeRunID(threadID) != nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(250))
        }
    }

    // MARK: Reading records

    /// A thread's record as read, with its owner.
    private struct Summary {
        var owner: String
        var thread: ThreadSummary
    }

    /// The records of `threadIDs`, nil for those that do not exist, in one round trip.
    private func summaries(of threadIDs: [String]) async throws -> [Summary?] {
        guard !threadIDs.isEmpty else { return [] }
        var commands: [[RedisArgument]] = []
        for threadID in threadIDs {
            commands.append([
                "HMGET", RedisArgument(keys.thread(threadID)), RedisArgument(ThreadRecord.Field.owner), RedisArgument(ThreadRecord.Field.title),
                RedisArgument(ThreadRecord.Field.createdAt), RedisArgument(ThreadRecord.Field.updatedAt), RedisArgument(ThreadRecord.Field.preview),
            ])
            commands.append(["GET", RedisArgument(keys.threadActiveRun(threadID))])
        }
        let replies = try await redis.pipeline(commands)
        return try threadIDs.indices.map { position in
            let fields = try replies[2 * position].get().array ?? []
            guard fields.count == 5, let owner = fields[0].string else { return nil }
            let createdAt = fields[2].string ?? ""
            let thread = ThreadSummary(
                threadID: threadIDs[position],
                title: fields[1].string ?? ThreadRecord.title(fromFirstMessage: ""),
                createdAt: createdAt,
                updatedAt: fields[3].string ?? createdAt,
                activeRunID: try replies[2 * position + 1].get().string,
                preview: ThreadRecord.preview(of: Self.repairedPrefix(fields[4].string ?? ""))
            )
            return Summary(owner: owner, thread: thread)
        }
    }

    /// Text the relay cut at a byte count, without a character it cut in half.
    static func repairedPrefix(_ text: String) -> String {
        var text = text
        while text.unicodeScalars.last == "\u{FFFD}" { text.unicodeScalars.removeLast() }
        return text
    }
}
