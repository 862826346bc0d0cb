import HeraldCore
import HeraldProtocol
import Logging
import Redis

/// Turns a worker's raw event into the next entry of its thread's log, atomically:
/// assign `seq`, append to history, remember the event id, publish on the thread's channel.
///
/// One Lua script does all of it, so a relay that dies mid-event leaves either nothing or
/// everything behind, and a redelivered event (same `event_id`) is dropped instead of repeated.
public struct EventPublisher: Sendable {
    /// What the script did with one event.
    public enum Outcome: Sendable, Equatable {
        case published(seq: Int)
        case duplicate
        /// The run had already ended (e.g. closed as `worker_lost`); a late event of it is dropped.
        case afterRunEnded
    }

    static let script = RedisScript(
        """
        -- KEYS: seq, epoch, history, published ids, active run, run ended marker
        -- ARGV: event json, event id, epoch candidate, history size, ttl seconds, dedup window, channel, run id, terminal
        local seqKey, epochKey, historyKey, idsKey, activeKey, endedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
        local event, eventID, epochCandidate = ARGV[1], ARGV[2], ARGV[3]
        local historySize, ttl, dedupWindow = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        if redis.call('ZSCORE', idsKey, eventID) then
          return -1
        end
        if redis.call('EXISTS', endedKey) == 1 then
          return -2
        end
        local epoch = redis.call('GET', epochKey)
        if not epoch then
          -- The thread's log is new or expired: a new epoch starts counting from 1.
          epoch = epochCandidate
          redis.call('SET', epochKey, epoch)
          redis.call('DEL', seqKey, historyKey, idsKey)
        end
        local seq = redis.call('INCR', seqKey)
        local frame = '{"seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. string.sub(event, 2)
        redis.call('ZADD', historyKey, seq, frame)
        redis.call('ZREMRANGEBYRANK', historyKey, 0, -(historySize + 1))
        redis.call('ZADD', idsKey, seq, eventID)
        redis.call('ZREMRANGEBYSCORE', idsKey, '-inf', seq - dedupWindow)
        redis.call('EXPIRE', seqKey, ttl)
        redis.call('EXPIRE', epochKey, ttl)
        redis.call('EXPIRE', historyKey, ttl)
        redis.call('EXPIRE', idsKey, ttl)
        redis.call('PUBLISH', ARGV[7], frame)
        if ARGV[9] == '1' then
          redis.call('SET', endedKey, '1', 'EX', ttl)
          if redis.call('GET', activeKey) == ARGV[8] then
            redis.call('DEL', activeKey)
          end
        end
        return seq
        """
    )

    public let keys: RedisKeys
    public let historySize: Int
    public let historyTTLSeconds: Int
    public let dedupWindow: Int

    public init(keys: RedisKeys, historySize: Int, historyTTLSeconds: Int, dedupWindow: Int) {
        self.keys = keys
        self.historySize = historySize
        self.historyTTLSeconds = historyTTLSeconds
        self.dedupWindow = dedupWindow
    }

    /// The EVALSHA command for one event; batches of them go to Redis in one write.
    func command(for event: AgentEvent, json: String) -> [RedisArgument] {
        let thread = event.threadID
        let keyList = [
            keys.threadSeq(thread), keys.threadEpoch(thread), keys.threadHistory(thread),
            keys.threadPublishedIDs(thread), keys.threadActiveRun(thread), keys.runEnded(event.runID),
        ]
        var arguments: [RedisArgument] = ["EVALSHA", RedisArgument(Self.script.sha1), RedisArgument(keyList.count)]
        arguments += keyList.map { RedisArgument($0) }
        arguments += [
            RedisArgument(json), RedisArgument(event.eventID), RedisArgument(Identifier.make("ep")),
            RedisArgument(historySize), RedisArgument(historyTTLSeconds), RedisArgument(dedupWindow),
            RedisArgument(keys.threadChannel(thread)), RedisArgument(event.runID),
            RedisArgument(event.isRunTerminal ? "1" : "0"),
        ]
        return arguments
    }

    /// Publishes events in order, pipelined in one write. Returns one outcome per event.
    ///
    /// The batch starts with `SCRIPT LOAD`, so every EVALSHA behind it on the same connection finds the
    /// script even right after Redis restarted. Retrying a batch after NOSCRIPT instead would run its
    /// events out of order whenever part of it had succeeded (another relay loaded the script mid-batch).
    public func publish(_ events: [(event: AgentEvent, json: String)], on redis: RedisClient) async throws -> [Outcome] {
        guard !events.isEmpty else { return [] }
        let commands = [["SCRIPT", "LOAD", RedisArgument(Self.script.source)]] + events.map { command(for: $0.event, json: $0.json) }
        let results = try await redis.pipeline(commands)
        _ = try results[0].get()
        return try results.dropFirst().map { result in
            let value = try result.get()
            guard let seq = value.int else {
                throw RelayError.unexpectedReply("publish script returned \(value)")
            }
            switch seq {
            case -1: return .duplicate
            case -2: return .afterRunEnded
            default: return .published(seq: seq)
            }
        }
    }
}
