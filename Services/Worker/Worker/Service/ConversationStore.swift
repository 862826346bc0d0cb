import Foundation
import HeraldCore
import Logging
import Redis

/// A thread's conversation in Redis: a list of JSON turns, capped and expiring with the thread.
struct ConversationStore: Sendable {
    let redis: RedisClient
    let keys: RedisKeys
    /// Turns kept (`HERALD_CONVERSATION_TURNS`).
    let limit: Int
    /// Seconds the conversation lives after its last turn: as long as the thread's messages
    /// (`HERALD_THREAD_RETENTION_DAYS`).
    let ttlSeconds: Int

    /// The last `limit` turns, oldest first; entries that are not turns are skipped.
    func load(_ threadID: String) async throws -> [ConversationTurn] {
        let reply = try await redis.send("LRANGE", keys.threadConversation(threadID), -limit, -1)
        let decoder = JSONDecoder()
        return (reply.array ?? []).compactMap { item in
            guard let text = item.string else { return nil }
            return try? decoder.decode(ConversationTurn.self, from: Data(text.utf8))
        }
    }

    /// Appends turns, trims to `limit` and renews the expiry, in one step; nothing when the thread's record is gone
    /// (the thread was deleted while its run finished).
    func append(_ turns: [ConversationTurn], to threadID: String) async throws {
        guard !turns.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var arguments: [RedisArgument] = [RedisArgument(limit), RedisArgument(ttlSeconds)]
        for turn in turns {
            arguments.append(RedisArgument(String(decoding: try encoder.encode(turn), as: UTF8.self)))
        }
        _ = try await redis.evalScript(Self.appendScript, keys: [keys.thread(threadID), keys.threadConversation(threadID)], arguments: arguments)
    }

    static let appendScript = RedisScript(
        """
        -- KEYS: thread record, conversation
        -- ARGV: turns kept, ttl seconds, then the turns
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return 0
        end
        redis.call('RPUSH', KEYS[2], unpack(ARGV, 3))
        redis.call('LTRIM', KEYS[2], -tonumber(ARGV[1]), -1)
        redis.call('EXPIRE', KEYS[2], ARGV[2])
        return 1
        """
    )
}
