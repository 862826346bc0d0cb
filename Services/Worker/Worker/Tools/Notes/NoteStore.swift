import Foundation
import HeraldCore
import HeraldProtocol
import Redis

/// The user's saved notes in Redis (`RedisKeys.userNotes`): one hash field per saving call (run and call id), so a
/// call that runs again (its run continued after a crash) saves its note once.
public struct NoteStore: Sendable {
    /// The longest note `save_note` keeps, in characters.
    public static let maximumCharacters = 4000

    let redis: RedisClient
    let keys: RedisKeys
    /// How long notes live after the user's last save (`HERALD_THREAD_RETENTION_DAYS`).
    let retentionSeconds: Int

    public init(redis: RedisClient, keys: RedisKeys, retentionSeconds: Int) {
        self.redis = redis
        self.keys = keys
        self.retentionSeconds = retentionSeconds
    }

    /// Saves `text` for `userID` under the call's id; a second save of the same call keeps the first.
    func save(_ text: String, for userID: String, callID: String) async throws -> String {
        let savedAt = HeraldTimestamp.now()
        let note: JSONValue = ["text": .string(text), "saved_at": .string(savedAt)]
        let key = keys.userNotes(userID)
        let replies = try await redis.pipeline([
            ["HSETNX", RedisArgument(key), RedisArgument(callID), RedisArgument(note.jsonString())],
            ["EXPIRE", RedisArgument(key), RedisArgument(retentionSeconds)],
        ])
        for reply in replies { _ = try reply.get() }
        return savedAt
    }

    /// The user's notes, oldest first.
    func notes(of userID: String) async throws -> [JSONValue] {
        let reply = try await redis.send("HVALS", keys.userNotes(userID))
        let notes = (reply.array ?? []).compactMap { $0.string.flatMap { try? JSONValue.parse($0) } }
        return notes.sorted { ($0["saved_at"]?.stringValue ?? "") < ($1["saved_at"]?.stringValue ?? "") }
    }
}
