import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import Redis

/// The gateway's writes to the run queue and its reads of run and thread ownership.
///
/// Each decision that must not race with another gateway (owning a thread, marking it busy,
/// cancelling only an active run) happens inside one Lua script.
struct RunStore: Sendable {
    /// How a `user_message` was taken.
    enum SubmitOutcome: Sendable, Equatable {
        /// On the queue; `lastSeq` and `epoch` are the thread's log position just before it, so a new
        /// watcher knows where the run's events start.
        case queued(lastSeq: Int, epoch: String?)
        /// The thread belongs to someone else.
        case forbidden
        /// A run is already active on the thread.
        case busy(activeRunID: String)
        /// A run with this id exists already (a client chose the id, and used it before).
        case runExists
    }

    /// How a `cancel_run` was taken.
    enum CancelOutcome: Sendable, Equatable {
        case cancelled(threadID: String)
        /// The run has already ended; nothing changes.
        case alreadyFinished
        case notFound
        case forbidden
    }

    static let submitScript = RedisScript(
        """
        -- KEYS: thread, active run, run, run queue, thread log state
        -- ARGV: user id, run id, thread id, created at, ttl seconds, run request json, stream field, queue length cap,
        --       title for a new thread, thread retention seconds
        local owner = redis.call('HGET', KEYS[1], '\(ThreadRecord.Field.owner)')
        if owner and owner ~= ARGV[1] then
          return {'forbidden'}
        end
        if not owner then
          redis.call('HSET', KEYS[1], '\(ThreadRecord.Field.owner)', ARGV[1], '\(ThreadRecord.Field.createdAt)', ARGV[4],
            '\(ThreadRecord.Field.updatedAt)', ARGV[4], '\(ThreadRecord.Field.title)', ARGV[9], '\(ThreadRecord.Field.preview)', '')
        end
        redis.call('EXPIRE', KEYS[1], ARGV[10])
        local active = redis.call('GET', KEYS[2])
        if active then
          return {'busy', active}
        end
        if redis.call('EXISTS', KEYS[3]) == 1 then
          return {'exists'}
        end
        redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[5])
        redis.call('HSET', KEYS[3], '\(RunRecord.Field.threadID)', ARGV[3], '\(RunRecord.Field.userID)', ARGV[1],
          '\(RunRecord.Field.status)', '\(RunRecord.Status.queued)', '\(RunRecord.Field.createdAt)', ARGV[4])
        redis.call('EXPIRE', KEYS[3], ARGV[5])
        redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', ARGV[7], ARGV[6])
        redis.call('HSET', KEYS[1], '\(ThreadRecord.Field.updatedAt)', ARGV[4])
        local head = redis.call('HMGET', KEYS[5], '\(ThreadLogHead.Field.seq)', '\(ThreadLogHead.Field.epoch)')
        return {'queued', tonumber(head[1] or '0'), head[2] or ''}
        """
    )

    static let cancelScript = RedisScript(
        """
        -- KEYS: thread's active run, run's cancelled flag
        -- ARGV: run id, ttl seconds, cancel channel
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
          return 0
        end
        redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
        redis.call('PUBLISH', ARGV[3], ARGV[1])
        return 1
        """
    )

    /// Entries the run queue keeps at most (approximately): far more than any healthy backlog, so
    /// trimming only bounds memory when workers are gone for good.
    static let runQueueCap = 100_000

    let redis: RedisClient
    let keys: RedisKeys
    /// Lifetime of the run and busy-marker keys (`HERALD_HISTORY_TTL_SECONDS`).
    let ttlSeconds: Int
    /// Lifetime of a thread's record and its place in its owner's list after its last run
    /// (`HERALD_THREAD_RETENTION_DAYS`).
    let retentionSeconds: Int
    /// `HERALD_EVENT_PARTITIONS`: where a decision's `approval_resolved` goes.
    let partitions: Int
    let logger: Logger

    /// How an `approval_response` was taken.
    enum DecisionOutcome: Sendable, Equatable {
        /// Decided: `approval_resolved` is on its way to every watcher, and the run's continuation is queued. `record`
        /// is the request as it stood.
        case decided(ApprovalRecord)
        /// Someone decided first (another tab, the expiry, a cancellation): what they decided.
        case alreadyDecided(ApprovalDecision?)
        case notFound
        case forbidden
    }

    private var approvals: ApprovalResolver {
        ApprovalResolver(redis: redis, keys: keys, partitions: partitions)
    }

    /// Takes `userID`'s decision on an approval request, unless someone decided first. Only the run's user decides.
    func decide(
        approvalID: String,
        userID: String,
        decision: ApprovalDecision,
        arguments: JSONValue?,
        reason: String?
    ) async throws -> DecisionOutcome {
        guard let record = try await ApprovalRecord.load(approvalID, keys: keys, on: redis) else { return .notFound }
        guard record.userID == userID else { return .forbidden }
        if let decided = record.decision { return .alreadyDecided(decided) }
        switch try await approvals.resolve(record, decision: decision, arguments: arguments, decidedBy: userID, reason: reason) {
        case .resolved: return .decided(record)
        case .alreadyDecided(let decided): return .alreadyDecided(decided)
        case .notFound: return .notFound
        }
    }

    /// Resolves the approval a paused run waits for as `cancelled`, so the run continues only to end cancelled. A run
    /// that is not paused is left to its worker, which the cancellation flag reaches.
    private func cancelPaused(runID: String) async throws {
        let fields = try await redis.send("HMGET", keys.run(runID), RunRecord.Field.status, RunRecord.Field.approval).array ?? []
        guard fields.count == 2, fields[0].string == RunRecord.Status.paused, let approvalID = fields[1].string,
            let record = try await ApprovalRecord.load(approvalID, keys: keys, on: redis), record.decision == nil
        else { return }
        if case .resolved = try await approvals.resolve(record, decision: .cancelled) {
            logger.info("approval cancelled with its run", metadata: ["run": "\(runID)", "approval_id": "\(approvalID)"])
        }
    }

    /// Owns or checks the thread, marks it busy and queues the run, atomically.
    func submit(_ request: RunRequest) async throws -> SubmitOutcome {
        let thread = request.threadID
        let reply = try await redis.evalScript(
            Self.submitScript,
            keys: [
                keys.thread(thread), keys.threadActiveRun(thread), keys.run(request.runID), keys.runQueue,
                keys.threadLogState(thread),
            ],
            arguments: [
                RedisArgument(request.userID), RedisArgument(request.runID), RedisArgument(thread),
                RedisArgument(request.enqueuedAt), RedisArgument(ttlSeconds), RedisArgument(request.encodedJSON()),
                RedisArgument(RunRequest.streamField), RedisArgument(Self.runQueueCap),
                RedisArgument(ThreadRecord.title(fromFirstMessage: request.content)), RedisArgument(retentionSeconds),
            ]
        )
        guard let parts = reply.array, let verdict = parts.first?.string else {
            throw RedisError(kind: .decoding, message: "submit script returned \(reply)")
        }
        switch verdict {
        case "queued" where parts.count == 3:
            // Apart from the script: a user's list and a thread's keys live on different cluster slots. Scored by the
            // instant the record's `updated_at` holds, so the list's order is `updated_at`'s. The run is queued
            // whatever happens here: a failure leaves the thread out of the list until its next run, and is logged,
            // not answered as a refusal the client would retry.
            let sentAt = HeraldTimestamp.parse(request.enqueuedAt) ?? Date()
            do {
                try await ThreadIndex(redis: redis, keys: keys, retentionSeconds: retentionSeconds).note(thread, of: request.userID, at: sentAt)
            } catch {
                logger.warning("cannot list the thread for its owner", metadata: ["thread": "\(thread)", "error": "\(error)"])
            }
            let epoch = parts[2].string ?? ""
            return .queued(lastSeq: parts[1].int ?? 0, epoch: epoch.isEmpty ? nil : epoch)
        case "busy" where parts.count == 2:
            return .busy(activeRunID: parts[1].string ?? "")
        case "forbidden":
            return .forbidden
        case "exists":
            return .runExists
        default:
            throw RedisError(kind: .decoding, message: "submit script returned \(reply)")
        }
    }

    /// Flags an active run as cancelled and tells the workers; a finished run is left alone.
    func cancel(runID: String, userID: String) async throws -> CancelOutcome {
        let record = try await redis.send("HMGET", keys.run(runID), RunRecord.Field.userID, RunRecord.Field.threadID)
        guard let fields = record.array, fields.count == 2, let owner = fields[0].string, let threadID = fields[1].string else {
            return .notFound
        }
        guard owner == userID else { return .forbidden }
        let reply = try await redis.evalScript(
            Self.cancelScript,
            keys: [keys.threadActiveRun(threadID), keys.runCancelled(runID)],
            arguments: [RedisArgument(runID), RedisArgument(ttlSeconds), RedisArgument(keys.cancelChannel)]
        )
        guard reply.int == 1 else { return .alreadyFinished }
        try await cancelPaused(runID: runID)
        return .cancelled(threadID: threadID)
    }

    /// The run active on a thread, and where its events start in the thread's log.
    struct ActiveRun: Sendable, Equatable {
        var runID: String
        /// Watching from here shows the run from its first event: the seq before its supervisor's start (the live
        /// run the relay records), or, before it started, the log's position now.
        var afterSeq: Int
        var epoch: String?
        /// The last seq of the thread's log now: watching from here shows only what comes next.
        var lastSeq: Int
    }

    /// The thread's active run, nil when it has none.
    func activeRun(ofThread threadID: String) async throws -> ActiveRun? {
        let replies = try await redis.pipeline([
            ["GET", RedisArgument(keys.threadActiveRun(threadID))],
            ThreadLogHead.readCommand(threadID, keys: keys),
        ])
        guard let runID = try replies[0].get().string else { return nil }
        let head = try ThreadLogHead(reply: replies[1].get())
        return ActiveRun(runID: runID, afterSeq: head.liveRunStart.map { $0 - 1 } ?? head.seq, epoch: head.epoch, lastSeq: head.seq)
    }

    /// The thread's owner, or nil when the thread does not exist. Looking does not renew it: a thread's record lives
    /// as long as its messages, `HERALD_THREAD_RETENTION_DAYS` after its last run.
    func owner(ofThread threadID: String) async throws -> String? {
        try await redis.send("HGET", keys.thread(threadID), ThreadRecord.Field.owner).string
    }
}
