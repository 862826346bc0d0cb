import HeraldCore
import HeraldProtocol
import Logging
import Redis

/// Turns a worker's raw event into the next entry of its thread's log, atomically:
/// assign `seq`, append to history, remember the event id and the partition entry, publish on the
/// thread's channel.
///
/// One Lua script does all of it for a run of one thread's events, so a relay that dies mid-batch leaves
/// each call's events either all done or not done at all. The script first checks that this relay still
/// holds the partition's lease, so a relay that lost it (stalled past its lease) cannot publish what its
/// successor publishes too. Each thread remembers the last partition entry it published (entry ids rise
/// within a partition), so a successor that re-reads from the partition's cursor skips what was done; and
/// the ids of its latest events, so an event a worker wrote twice (its write reached Redis but the reply
/// was lost, so it retried with the same `event_id`) is dropped too.
///
/// The thread's history is a list whose last element has `seq` = the thread's seq, so element `i` of a
/// list of `n` holds `seq - n + 1 + i`; `ThreadHistory` (gateway) and the watchdog read it that way.
/// One channel message carries the call's frames joined by newlines (JSON text holds none of its own).
public struct EventPublisher: Sendable {
    /// What the script did with one event.
    public enum Outcome: Sendable, Equatable {
        case published(seq: Int)
        /// Already published: a worker's retried write, or an entry a successor relay read again.
        case duplicate
        /// The run had already ended (e.g. closed as `worker_lost`); a late event of it is dropped.
        case afterRunEnded
    }

    static let script = RedisScript(
        """
        -- Publishes a run of events of one thread, in order.
        -- KEYS: seq, epoch, history, relay state (hash: entry, recent, count), active run, partition lease,
        --       then the run-ended marker of each of the call's runs
        -- ARGV: epoch candidate, history size, ttl seconds, dedup window, channel, lease holder, number of runs,
        --       the runs' ids, then per event: its JSON without the opening brace, event id, partition entry id,
        --       and its run's number (from 1; negative when the event ends the run)
        -- Returns nil when the lease is not ours (nothing done), else one outcome per event.
        if redis.call('GET', KEYS[6]) ~= ARGV[6] then
          return false
        end
        local seqKey, epochKey, historyKey, stateKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
        local epochCandidate, channel = ARGV[1], ARGV[5]
        local historySize, ttl, dedupWindow = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local epoch = redis.call('GET', epochKey)
        if not epoch then
          -- The thread's log is new or expired: a new epoch starts counting from 1.
          epoch = epochCandidate
          redis.call('SET', epochKey, epoch)
          redis.call('DEL', seqKey, historyKey, stateKey)
        end
        local firstSeq = tonumber(redis.call('GET', seqKey) or '0')
        local seq = firstSeq
        local state = redis.call('HMGET', stateKey, 'entry', 'recent', 'count')
        -- The ids of the latest events, as '|id|id|…|'.
        local recent, recentCount = state[2] or '|', tonumber(state[3] or '0')
        local function entryNumbers(id)
          local ms, sq = string.match(id, '^(%d+)-(%d+)$')
          return tonumber(ms), tonumber(sq)
        end
        -- Entries come in id order: only a leading run of them can have been published already.
        local replaying, lastMs, lastSq = state[1] ~= false, -1, -1
        if replaying then lastMs, lastSq = entryNumbers(state[1]) end
        local runs = tonumber(ARGV[7])
        local ended = {}
        for r = 1, runs do
          ended[r] = redis.call('EXISTS', KEYS[6 + r]) == 1
        end
        local outcomes, frames, ids, seen = {}, {}, {}, {}
        local first = 7 + runs
        local count = (#ARGV - first) / 4
        for i = 1, count do
          local base = first + (i - 1) * 4
          local eventID, run = ARGV[base + 2], tonumber(ARGV[base + 4])
          local terminal = run < 0
          if terminal then run = -run end
          if replaying then
            local ms, sq = entryNumbers(ARGV[base + 3])
            replaying = ms < lastMs or (ms == lastMs and sq <= lastSq)
          end
          if replaying or seen[eventID] or string.find(recent, '|' .. eventID .. '|', 1, true) then
            outcomes[i] = -1
          elseif ended[run] then
            outcomes[i] = -2
          else
            seq = seq + 1
            seen[eventID] = true
            ids[#ids + 1] = eventID
            frames[#frames + 1] = '{"seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. ARGV[base + 1]
            if terminal then
              ended[run] = true
              redis.call('SET', KEYS[6 + run], '1', 'EX', ttl)
              if redis.call('GET', activeKey) == ARGV[7 + run] then
                redis.call('DEL', activeKey)
              end
            end
            outcomes[i] = seq
          end
        end
        -- Unless every entry was one already done, the call's last entry is the thread's newest.
        local update = {}
        if not replaying then
          update[1], update[2] = 'entry', ARGV[first + (count - 1) * 4 + 3]
        end
        if seq > firstSeq then
          redis.call('PUBLISH', channel, table.concat(frames, '\\n'))
          redis.call('SET', seqKey, seq, 'EX', ttl)
          if redis.call('RPUSH', historyKey, unpack(frames)) > historySize then
            redis.call('LTRIM', historyKey, -historySize, -1)
          end
          redis.call('EXPIRE', epochKey, ttl)
          redis.call('EXPIRE', historyKey, ttl)
          recent = recent .. table.concat(ids, '|') .. '|'
          recentCount = recentCount + #ids
          if recentCount > dedupWindow then
            -- Keep the newest ids: skip past the separators of the oldest ones.
            local cut = 1
            for _ = 1, recentCount - dedupWindow do
              cut = string.find(recent, '|', cut + 1, true)
            end
            recent = string.sub(recent, cut)
            recentCount = dedupWindow
          end
          local n = #update
          update[n + 1], update[n + 2], update[n + 3], update[n + 4] = 'recent', recent, 'count', recentCount
        end
        if #update > 0 then
          redis.call('HSET', stateKey, unpack(update))
          redis.call('EXPIRE', stateKey, ttl)
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

    /// Where a batch comes from: the partition, and the relay holding its lease.
    public struct Source: Sendable {
        public var partition: Int
        public var leaseHolder: String

        public init(partition: Int, leaseHolder: String) {
            self.partition = partition
            self.leaseHolder = leaseHolder
        }
    }

    /// One event of a batch: what a worker wrote, and the id of its partition stream entry.
    public struct Item: Sendable {
        public var event: PartitionEntry
        public var entryID: String

        public init(_ event: PartitionEntry, entryID: String) {
            self.event = event
            self.entryID = entryID
        }
    }

    /// The EVALSHA command publishing `items`, all of one thread, in order.
    func command(for items: [Item], from source: Source, epochCandidate: String) -> [RedisArgument] {
        let thread = items.first!.event.threadID
        // The call's runs, numbered from 1 in order of appearance (almost always one).
        var runs: [String] = []
        var runNumbers: [Int] = []
        runNumbers.reserveCapacity(items.count)
        for item in items {
            if let index = runs.lastIndex(of: item.event.runID) {
                runNumbers.append(index + 1)
            } else {
                runs.append(item.event.runID)
                runNumbers.append(runs.count)
            }
        }
        var arguments: [RedisArgument] = ["EVALSHA", RedisArgument(Self.script.sha1), RedisArgument(6 + runs.count)]
        arguments.reserveCapacity(3 + 6 + runs.count + 7 + runs.count + items.count * 4)
        arguments += [
            RedisArgument(keys.threadSeq(thread)), RedisArgument(keys.threadEpoch(thread)), RedisArgument(keys.threadHistory(thread)),
            RedisArgument(keys.threadRelayState(thread)), RedisArgument(keys.threadActiveRun(thread)),
            RedisArgument(keys.partitionLease(source.partition)),
        ]
        arguments += runs.map { RedisArgument(keys.runEnded($0)) }
        arguments += [
            RedisArgument(epochCandidate), RedisArgument(historySize), RedisArgument(historyTTLSeconds), RedisArgument(dedupWindow),
            RedisArgument(keys.threadChannel(thread)), RedisArgument(source.leaseHolder), RedisArgument(runs.count),
        ]
        arguments += runs.map { RedisArgument($0) }
        for (item, run) in zip(items, runNumbers) {
            let event = item.event
            arguments += [
                // The frame is `{"seq":…,"epoch":…,` and the event's JSON after its opening brace.
                RedisArgument(event.json.dropFirst()), RedisArgument(event.eventID), RedisArgument(item.entryID),
                RedisArgument(event.isRunTerminal ? -run : run),
            ]
        }
        return arguments
    }

    /// Publishes a batch read from one partition, each thread's events in the order given,
    /// pipelined in one write: one script call per thread (per `maxEventsPerCall` events), so a burst of one
    /// thread's events costs Redis one call. Returns one outcome per item, in the order given.
    ///
    /// Throws `RelayError.leaseLost` when the partition's lease is no longer this relay's: the calls that
    /// found so did nothing, and the lease's new holder reads what they held from the partition's cursor.
    ///
    /// The batch starts with `SCRIPT LOAD`, so every EVALSHA behind it on the same connection finds the
    /// script even right after Redis restarted. Retrying a batch after NOSCRIPT instead would run its
    /// events out of order whenever part of it had succeeded (another relay loaded the script mid-batch).
    public func publish(_ items: [Item], from source: Source, on redis: RedisClient) async throws -> [Outcome] {
        guard !items.isEmpty else { return [] }
        let calls = Self.calls(for: items.map(\.event))
        // One candidate serves the whole batch: it only names a thread log that starts anew.
        let epochCandidate = Identifier.make("ep")
        var commands: [[RedisArgument]] = [["SCRIPT", "LOAD", RedisArgument(Self.script.source)]]
        commands.reserveCapacity(calls.count + 1)
        for call in calls {
            commands.append(command(for: call.map { items[$0] }, from: source, epochCandidate: epochCandidate))
        }
        let results = try await redis.pipeline(commands)
        _ = try results[0].get()
        var outcomes = [Outcome](repeating: .duplicate, count: items.count)
        var leaseLost = false
        for (call, result) in zip(calls, results.dropFirst()) {
            let value = try result.get()
            if value.isNull {
                leaseLost = true
                continue
            }
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
        if leaseLost { throw RelayError.leaseLost(partition: source.partition) }
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
