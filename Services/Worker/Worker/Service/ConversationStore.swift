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
    /// Seconds the conversation lives after its last turn (`HERALD_HISTORY_TTL_SECONDS`).
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

    /// Appends turns, trims to `limit` and renews the expiry, in one round trip.
    func append(_ turns: [ConversationTurn], to threadID: String) async throws {
        guard !turns.isEmpty else { return }
        let key = keys.threadConversation(threadID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var push: [RedisArgument] = ["RPUSH", RedisArgument(key)]
        for turn in turns {
            push.append(RedisArgument(String(decoding: try encoder.encode(turn), as: UTF8.self)))
        }
        let results = try await redis.pipeline([
            push,
            ["LTRIM", RedisArgument(key), RedisArgument(-limit), -1],
            ["EXPIRE", RedisArgument(key), RedisArgument(ttlSeconds)],
        ])
        for result in results {
            if case .failure(let error) = result { throw error }
        }
    }
}
