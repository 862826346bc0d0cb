import Foundation
import HeraldCore
import NIOCore
import Redis

/// The limits that keep guest mode from spending a deployment's model key for anyone who reaches the port: new
/// guests per client address per minute (`HERALD_GUEST_NEW_PER_MINUTE`) and runs per guest per hour
/// (`HERALD_GUEST_RUNS_PER_HOUR`). The counts live in Redis, so every gateway of the deployment counts together.
struct GuestLimits: Sendable {
    let newGuestsPerMinute: Int
    let runsPerHour: Int
    let redis: RedisClient
    let keys: RedisKeys

    /// A sliding window: what was admitted in the last `window` ms, as a sorted set of admission times. A fixed window
    /// would admit twice the limit across its edge. ARGV: now (ms), window (ms), limit, a unique member.
    static let admitScript = RedisScript(
        """
        local now = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
        redis.call('ZADD', KEYS[1], now, ARGV[4])
        redis.call('PEXPIRE', KEYS[1], window)
        return 1
        """
    )

    /// Whether `address` may make one more guest now; counts it if so.
    func admitNewGuest(from address: String, now: Date = Date()) async throws -> Bool {
        try await admit(keys.newGuests(from: address), limit: newGuestsPerMinute, window: 60, now: now)
    }

    /// Whether guest `userID` may start one more run now; counts it if so, under the returned entry.
    func admitRun(of userID: String, now: Date = Date()) async throws -> String? {
        let entry = Identifier.make("run")
        return try await admit(keys.guestRuns(userID), limit: runsPerHour, window: 3600, now: now, entry: entry) ? entry : nil
    }

    /// Takes back a run counted by `admitRun` that was then not queued (a busy thread, another's thread).
    func withdrawRun(_ entry: String, of userID: String) async throws {
        _ = try await redis.send("ZREM", keys.guestRuns(userID), entry)
    }

    private func admit(_ key: String, limit: Int, window seconds: Int, now: Date, entry: String = Identifier.make("a")) async throws -> Bool {
        let milliseconds = Int(now.timeIntervalSince1970 * 1000)
        let reply = try await redis.evalScript(
            Self.admitScript,
            keys: [key],
            arguments: [RedisArgument(milliseconds), RedisArgument(seconds * 1000), RedisArgument(limit), RedisArgument(entry)]
        )
        return reply.int == 1
    }
}
