import HeraldCore
import Redis

/// The keys and arguments of one `EventPublisher.publishScript` call, laid out as the script's header says: the
/// one place that knows the layout on the Swift side; the script reads it with the same constants.
struct PublishScriptCall: Sendable {
    /// Keys before the threads' own: the partition's lease, cursor and stream.
    static let partitionKeys = 3
    /// Keys of each thread before its listed runs' ended markers: log head, history, active run, live run's
    /// outline, thread record, messages, runs, live answer text.
    static let keysPerThread = 8
    /// Arguments before the threads' own (lease holder … thread retention seconds).
    static let leadingArguments = 8
    /// Arguments of each thread before its runs: epoch … outline positions, and the run count.
    static let threadHeadArguments = 13
    /// Arguments of each listed run: its id and its `RunChecks`.
    static let argumentsPerRun = 2
    /// Arguments of each message update: kind, run id and two values (`MessageUpdate.scriptArguments`).
    static let argumentsPerMessageUpdate = 4

    /// What the script does with a run the batch lists.
    struct RunChecks: OptionSet, Sendable {
        let rawValue: Int
        /// The batch ends the run: the script marks it ended and clears the thread's active run when it is this one.
        static let endsRun = RunChecks(rawValue: 1)
        /// The run must not have ended before: if it has, nothing is done and its number comes back.
        static let mustBeOpen = RunChecks(rawValue: 2)

        init(rawValue: Int) { self.rawValue = rawValue }
        init(ends: Bool, check: Bool) {
            var checks: RunChecks = []
            if ends { checks.insert(.endsRun) }
            if check { checks.insert(.mustBeOpen) }
            self = checks
        }
    }

    /// The settings each call carries.
    struct Limits: Sendable {
        var historySize: Int
        var historyTTLSeconds: Int
        var liveRunHistoryBytes: Int
        var threadRetentionSeconds: Int
    }

    private(set) var keys: [String]
    private(set) var arguments: [RedisArgument]

    /// The call that carries out `plan` for `source`, moving the partition's cursor to `cursor` when it is given.
    init(_ plan: PublishPlan, from source: EventPublisher.Source, cursor: String?, limits: Limits, keys redisKeys: RedisKeys) {
        keys = [redisKeys.partitionLease(source.partition), redisKeys.partitionCursor(source.partition), redisKeys.eventPartition(source.partition)]
        arguments = [
            RedisArgument(source.leaseHolder), RedisArgument(cursor ?? ""),
            // Nothing to trim past the largest id there is.
            RedisArgument(cursor.flatMap { StreamEntryID($0)?.next?.description } ?? ""),
            RedisArgument(limits.historySize), RedisArgument(limits.historyTTLSeconds), RedisArgument(plan.appends.count),
            RedisArgument(limits.liveRunHistoryBytes), RedisArgument(limits.threadRetentionSeconds),
        ]
        assert(arguments.count == Self.leadingArguments)
        arguments.reserveCapacity(arguments.count + plan.outcomes.count + plan.appends.count * (Self.threadHeadArguments + 1))
        for append in plan.appends {
            let thread = append.threadID
            let listed = append.listedRuns
            keys += [
                redisKeys.threadLogState(thread), redisKeys.threadHistory(thread), redisKeys.threadActiveRun(thread),
                redisKeys.threadLiveRunOutline(thread), redisKeys.thread(thread), redisKeys.threadMessages(thread),
                redisKeys.threadRuns(thread), redisKeys.threadAnswerText(thread),
            ]
            keys += listed.map { redisKeys.runEnded($0.id) }
            appendThreadArguments(append, channel: redisKeys.threadChannel(thread))
        }
    }

    private mutating func appendThreadArguments(_ append: PublishPlan.ThreadAppend, channel: String) {
        let log = append.log
        let listed = append.listedRuns
        // Appended in place, not concatenated: this runs for every thread of every call on the relay's hot path.
        let headStart = arguments.count
        arguments.append(RedisArgument(log.epoch ?? ""))
        arguments.append(append.startsLog ? "1" : "0")
        arguments.append(RedisArgument(append.expectedSeq))
        arguments.append(RedisArgument(append.frames.count))
        arguments.append(RedisArgument(channel))
        arguments.append(RedisArgument(append.entryChanged ? log.lastEntry?.description ?? "" : ""))
        arguments.append(RedisArgument(append.recentChanged ? "|" + log.recentEventIDs.joined(separator: "|") + "|" : ""))
        arguments.append(RedisArgument(log.recentEventIDs.count))
        arguments.append(append.renewsExpiry ? "1" : "0")
        switch append.liveRun {
        case .continues(let bytes):
            arguments.append("")
            arguments.append(RedisArgument(bytes))
        case .starts(let seq, let bytes):
            arguments.append(RedisArgument(seq))
            arguments.append(RedisArgument(bytes))
        case .ends:
            arguments.append("0")
            arguments.append("0")
        }
        arguments.append(RedisArgument(append.outline.map(String.init).joined(separator: " ")))
        arguments.append(RedisArgument(listed.count))
        assert(arguments.count - headStart == Self.threadHeadArguments)
        for run in listed {
            arguments.append(RedisArgument(run.id))
            arguments.append(RedisArgument(RunChecks(ends: run.ends, check: run.check).rawValue))
        }
        for frame in append.frames {
            arguments.append(RedisArgument(frame))
        }
        arguments.append(RedisArgument(append.messages.count))
        for update in append.messages {
            let values = update.scriptArguments
            assert(values.count == Self.argumentsPerMessageUpdate)
            for value in values {
                arguments.append(RedisArgument(value))
            }
        }
    }
}

/// What `EventPublisher.publishScript` answered.
enum PublishScriptReply: Sendable, Equatable {
    /// The partition's lease is not the caller's: nothing was done.
    case leaseLost
    /// All of the call was done.
    case published
    /// Nothing was done: these threads' logs are not as planned.
    case logsDiffer([DifferingLog])

    /// A thread whose log is not as the plan assumed, as Redis holds it.
    struct DifferingLog: Sendable, Equatable {
        /// Its position among the plan's appends, from 0.
        var append: Int
        var epoch: String
        var seq: Int
        var entry: String
        var recent: String
        /// The positions (from 0) among its listed runs of those that had already ended.
        var endedRuns: [Int]
    }

    /// Decodes a reply: nil, 1, or one record per differing thread
    /// `{thread number from 1, epoch or '', seq, newest entry or '', recent ids or '', {ended runs' numbers from 1}}`.
    init(_ reply: RESPValue) throws {
        if reply.isNull {
            self = .leaseLost
            return
        }
        if reply.int == 1 {
            self = .published
            return
        }
        guard let records = reply.array, !records.isEmpty else {
            throw RelayError.unexpectedReply("publish script returned \(reply)")
        }
        self = .logsDiffer(
            try records.map { record in
                guard let fields = record.array, fields.count == 6, let number = fields[0].int, number >= 1,
                    let epoch = fields[1].string, let seq = fields[2].int, let entry = fields[3].string, let recent = fields[4].string,
                    let ended = fields[5].array
                else {
                    throw RelayError.unexpectedReply("publish script returned \(reply)")
                }
                return DifferingLog(
                    append: number - 1,
                    epoch: epoch,
                    seq: seq,
                    entry: entry,
                    recent: recent,
                    endedRuns: ended.compactMap(\.int).filter { $0 >= 1 }.map { $0 - 1 }
                )
            }
        )
    }
}

/// What `EventPublisher.readScript` answered: each thread's log as Redis holds it.
enum ThreadLogReadReply {
    /// Decodes one record `{epoch or '', seq, newest entry or '', recent ids or ''}` per thread asked for.
    static func logs(_ reply: RESPValue, count: Int) throws -> [ThreadLog] {
        guard let records = reply.array, records.count == count else {
            throw RelayError.unexpectedReply("thread log read returned \(reply)")
        }
        return try records.map { record in
            guard let fields = record.array, fields.count == 4, let epoch = fields[0].string, let seq = fields[1].int,
                let entry = fields[2].string, let recent = fields[3].string
            else {
                throw RelayError.unexpectedReply("thread log read returned \(reply)")
            }
            return ThreadLog(epoch: epoch, seq: seq, entry: entry, recent: recent)
        }
    }
}
