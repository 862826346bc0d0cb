import HeraldCore
import NIOCore
import Redis

/// Reads a thread's history (kept by the relay) for resume and gap catch-up.
struct ThreadHistory: Sendable {
    static let readScript = RedisScript(
        """
        -- KEYS: epoch, seq, history
        -- ARGV: after seq, the caller's epoch ('' when unknown)
        local epoch = redis.call('GET', KEYS[1]) or ''
        local last = tonumber(redis.call('GET', KEYS[2]) or '0')
        local after = tonumber(ARGV[1])
        local reset = 0
        if (ARGV[2] ~= '' and ARGV[2] ~= epoch) or after > last then
          reset = 1
          after = 0
        end
        local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
        local frames = redis.call('ZRANGE', KEYS[3], '(' .. after, '+inf', 'BYSCORE')
        return {epoch, last, reset, oldest[2] or '', frames}
        """
    )

    let redis: RedisClient
    let keys: RedisKeys

    /// The frames after `afterSeq` in `epoch` (all of them when the epoch differs), atomically with the log's position.
    func read(_ threadID: String, afterSeq: Int, epoch: String?) async throws -> HistorySnapshot {
        let reply = try await redis.evalScript(
            Self.readScript,
            keys: [keys.threadEpoch(threadID), keys.threadSeq(threadID), keys.threadHistory(threadID)],
            arguments: [RedisArgument(afterSeq), RedisArgument(epoch ?? "")]
        )
        guard let parts = reply.array, parts.count == 5, let frameValues = parts[4].array else {
            throw RedisError(kind: .decoding, message: "history script returned \(reply)")
        }
        var frames: [ThreadFrame] = []
        frames.reserveCapacity(frameValues.count)
        for value in frameValues {
            guard case .bulkString(let text) = value, let frame = ThreadFrame(text) else { continue }
            frames.append(frame)
        }
        return HistorySnapshot(
            epoch: parts[0].string ?? "",
            lastSeq: parts[1].int ?? 0,
            reset: parts[2].int == 1,
            oldestSeq: parts[3].string.flatMap { Int($0) },
            frames: frames
        )
    }
}
