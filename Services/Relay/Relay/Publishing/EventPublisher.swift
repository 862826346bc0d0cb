import HeraldCore
import HeraldProtocol
import Logging
import Redis

/// Turns a worker's raw event into the next entry of its thread's log, atomically:
/// assign `seq`, append to history, remember the event id, publish on the thread's channel.
///
/// One Lua script does all of it for a run of one thread's events, so a relay that dies mid-batch leaves
/// each call's events either all done or not at all, and a redelivered event (same `event_id`) is dropped
/// instead of repeated.
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
        -- Publishes a run of events of one thread, in order.
        -- KEYS: seq, epoch, history, published ids, active run, then each event's run-ended marker
        -- ARGV: epoch candidate, history size, ttl seconds, dedup window, channel,
        --       then per event: event json, event id, run id, terminal ('1' or '0')
        local seqKey, epochKey, historyKey, idsKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
        local epochCandidate, channel = ARGV[1], ARGV[5]
        local historySize, ttl, dedupWindow = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local epoch = redis.call('GET', epochKey)
        if not epoch then
          -- The thread's log is new or expired: a new epoch starts counting from 1.
          epoch = epochCandidate
          redis.call('SET', epochKey, epoch)
          redis.call('DEL', seqKey, historyKey, idsKey)
        end
        local firstSeq = tonumber(redis.call('GET', seqKey) or '0')
        local seq = firstSeq
        local outcomes, history, ids, seen, ended = {}, {}, {}, {}, {}
        for i = 1, (#ARGV - 5) / 4 do
          local base = 5 + (i - 1) * 4
          local event, eventID, runID, terminal = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
          local endedKey = KEYS[5 + i]
          if ended[runID] == nil then
            ended[runID] = redis.call('EXISTS', endedKey) == 1
          end
          if seen[eventID] or redis.call('ZSCORE', idsKey, eventID) then
            outcomes[i] = -1
          elseif ended[runID] then
            outcomes[i] = -2
          else
            seq = seq + 1
            seen[eventID] = true
            local frame = '{"seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. string.sub(event, 2)
            history[#history + 1] = seq
            history[#history + 1] = frame
            ids[#ids + 1] = seq
            ids[#ids + 1] = eventID
            redis.call('PUBLISH', channel, frame)
            if terminal == '1' then
              ended[runID] = true
              redis.call('SET', endedKey, '1', 'EX', ttl)
              if redis.call('GET', activeKey) == runID then
                redis.call('DEL', activeKey)
              end
            end
            outcomes[i] = seq
          end
        end
        if seq > firstSeq then
          redis.call('SET', seqKey, seq, 'EX', ttl)
          redis.call('ZADD', historyKey, unpack(history))
          redis.call('ZREMRANGEBYRANK', historyKey, 0, -(historySize + 1))
          redis.call('ZADD', idsKey, unpack(ids))
          redis.call('ZREMRANGEBYSCORE', idsKey, '-inf', seq - dedupWindow)
          redis.call('EXPIRE', epochKey, ttl)
          redis.call('EXPIRE', historyKey, ttl)
          redis.call('EXPIRE', idsKey, ttl)
        end
        return outcomes
        """
    )

    /// Events of one thread published by one script call at most; bounds the script's argument list.
    static let maxEventsPerCall = 128

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

    /// The EVALSHA command publishing `events`, all of one thread, in order.
    func command(for events: [PartitionEntry], epochCandidate: String) -> [RedisArgument] {
        let thread = events.first!.threadID
        var arguments: [RedisArgument] = ["EVALSHA", RedisArgument(Self.script.sha1), RedisArgument(5 + events.count)]
        arguments.reserveCapacity(3 + 5 + events.count + 5 + events.count * 4)
        arguments += [
            RedisArgument(keys.threadSeq(thread)), RedisArgument(keys.threadEpoch(thread)), RedisArgument(keys.threadHistory(thread)),
            RedisArgument(keys.threadPublishedIDs(thread)), RedisArgument(keys.threadActiveRun(thread)),
        ]
        for event in events {
            arguments.append(RedisArgument(keys.runEnded(event.runID)))
        }
        arguments += [
            RedisArgument(epochCandidate), RedisArgument(historySize), RedisArgument(historyTTLSeconds), RedisArgument(dedupWindow),
            RedisArgument(keys.threadChannel(thread)),
        ]
        for event in events {
            arguments += [RedisArgument(event.json), RedisArgument(event.eventID), RedisArgument(event.runID), RedisArgument(event.isRunTerminal ? "1" : "0")]
        }
        return arguments
    }

    /// Publishes events, each thread's in the order given, pipelined in one write: one script call per
    /// thread (per `maxEventsPerCall` events), so a burst of one thread's events costs Redis one call.
    /// Returns one outcome per event, in the order given.
    ///
    /// The batch starts with `SCRIPT LOAD`, so every EVALSHA behind it on the same connection finds the
    /// script even right after Redis restarted. Retrying a batch after NOSCRIPT instead would run its
    /// events out of order whenever part of it had succeeded (another relay loaded the script mid-batch).
    public func publish(_ events: [PartitionEntry], on redis: RedisClient) async throws -> [Outcome] {
        guard !events.isEmpty else { return [] }
        let calls = Self.calls(for: events)
        // One candidate serves the whole batch: it only names a thread log that starts anew.
        let epochCandidate = Identifier.make("ep")
        var commands: [[RedisArgument]] = [["SCRIPT", "LOAD", RedisArgument(Self.script.source)]]
        commands.reserveCapacity(calls.count + 1)
        for call in calls {
            commands.append(command(for: call.map { events[$0] }, epochCandidate: epochCandidate))
        }
        let results = try await redis.pipeline(commands)
        _ = try results[0].get()
        var outcomes = [Outcome](repeating: .duplicate, count: events.count)
        for (call, result) in zip(calls, results.dropFirst()) {
            let value = try result.get()
            guard let replies = value.array, replies.count == call.count else {
                throw RelayError.unexpectedReply("publish script returned \(value)")
            }
            for (index, reply) in zip(call, replies) {
                guard let seq = reply.int else {
                    throw RelayError.unexpectedReply("publish script returned \(value)")
                }
                switch seq {
                case -1: outcomes[index] = .duplicate
                case -2: outcomes[index] = .afterRunEnded
                default: outcomes[index] = .published(seq: seq)
                }
            }
        }
        return outcomes
    }

    /// Groups the events' indices by thread, keeping each thread's order, in calls of at most `maxEventsPerCall`.
    static func calls(for events: [PartitionEntry]) -> [[Int]] {
        var calls: [[Int]] = []
        var openCall: [String: Int] = [:]
        for (index, event) in events.enumerated() {
            if let call = openCall[event.threadID], calls[call].count < maxEventsPerCall {
                calls[call].append(index)
            } else {
                openCall[event.threadID] = calls.count
                calls.append([index])
            }
        }
        return calls
    }
}
