import Foundation
import HeraldCore
import Redis

/// Each user's threads, most recently used first (`RedisKeys.userThreads`): a sorted set scored by the time of the
/// thread's latest run. Entries older than the retention are dropped whenever the set is written, and one whose
/// thread has gone (expired or deleted) when a page meets it, so the set holds at most the threads a user ran in
/// the last `HERALD_THREAD_RETENTION_DAYS`.
struct ThreadIndex: Sendable {
    let redis: RedisClient
    let keys: RedisKeys
    let retentionSeconds: Int

    /// Puts `threadID` first in its owner's list.
    func note(_ threadID: String, of userID: String, at now: Date = Date()) async throws {
        let key = RedisArgument(keys.userThreads(userID))
        let milliseconds = Int64(now.timeIntervalSince1970 * 1000)
        let oldest = milliseconds - Int64(retentionSeconds) * 1000
        for reply in try await redis.pipeline([
            ["ZADD", key, RedisArgument(Int(milliseconds)), RedisArgument(threadID)],
            ["ZREMRANGEBYSCORE", key, "-inf", RedisArgument("(\(oldest)")],
            ["EXPIRE", key, RedisArgument(retentionSeconds)],
        ]) {
            _ = try reply.get()
        }
    }

    func remove(_ threadID: String, of userID: String) async throws {
        _ = try await redis.send("ZREM", keys.userThreads(userID), threadID)
    }

    /// Up to `count` entries after `cursor` (from the newest when nil), newest first.
    func entries(of userID: String, after cursor: ThreadListCursor?, count: Int) async throws -> [ThreadListCursor] {
        let key = keys.userThreads(userID)
        let maximum = cursor.map { String($0.score) } ?? "+inf"
        var entries: [ThreadListCursor] = []
        var offset = 0
        // Threads with the cursor's own score come in reverse member order; those up to the cursor were on a page
        // already. Reading a little more than asked leaves room to skip them.
        while entries.count < count {
            let batch = count + 16
            let reply = try await redis.send("ZRANGE", key, maximum, "-inf", "BYSCORE", "REV", "LIMIT", String(offset), String(batch), "WITHSCORES")
            let items = reply.array ?? []
            var index = 0
            while index + 1 < items.count {
                defer { index += 2 }
                guard let member = items[index].string, let score = items[index + 1].string.flatMap({ Double($0) }) else { continue }
                let entry = ThreadListCursor(score: Int64(score), threadID: member)
                if let cursor, !cursor.precedes(entry) { continue }
                entries.append(entry)
                if entries.count == count { break }
            }
            if items.count < 2 * batch { break }
            offset += batch
        }
        return entries
    }
}
