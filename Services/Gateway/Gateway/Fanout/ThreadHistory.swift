import HeraldCore
import NIOCore
import Redis

/// Reads a thread's history (kept by the relay) for resume and gap catch-up.
struct ThreadHistory: Sendable {
    static let readScript = RedisScript(
        """
        -- KEYS: log state (hash: epoch, seq), history (a list whose last frame has the state's seq)
        -- ARGV: after seq, the caller's epoch ('' when unknown)
        local head = redis.call('HMGET', KEYS[1], '\(ThreadLogHead.Field.epoch)', '\(ThreadLogHead.Field.seq)')
        local epoch = head[1] or ''
        local last = tonumber(head[2] or '0')
        local after = tonumber(ARGV[1])
        local reset = 0
        if (ARGV[2] ~= '' and ARGV[2] ~= epoch) or after > last then
          reset = 1
          after = 0
        end
        local length = redis.call('LLEN', KEYS[2])
        local oldest = ''
        local frames = {}
        if length > 0 then
          oldest = tostring(last - length + 1)
          local wanted = math.min(last - after, length)
          if wanted > 0 then
            frames = redis.call('LRANGE', KEYS[2], -wanted, -1)
          end
        end
        return {epoch, last, reset, oldest, frames}
        """
    )

    let redis: RedisClient
    let keys: RedisKeys

    /// The frames after `afterSeq` in `epoch` (all of them when the epoch differs), atomically with the log's position.
    func read(_ threadID: String, afterSeq: Int, epoch: String?) async throws -> HistorySnapshot {
        let reply = try await redis.evalScript(
            Self.readScript,
            keys: [keys.threadLogState(threadID), keys.threadHistory(threadID)],
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
