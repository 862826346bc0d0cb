import HeraldCore
import HeraldProtocol
import Redis

/// Pauses a run in Redis, in one script: appends `approval_requested` to the thread's partition, writes the
/// approval's record and deadline and the run's state, marks the run `paused`, frees its lease and takes its entry off
/// the run queue. Nothing then holds the run, so no watchdog reports it lost, and whoever decides queues its
/// continuation (`ApprovalResolver`). Run again after a lost reply, it changes nothing.
public struct RedisRunSuspender: RunSuspender {
    static let script = RedisScript(
        """
        -- KEYS: event partition, approval record, approval deadlines, paused run, run record, run lease, run queue,
        --       thread's active run
        -- ARGV: event json, event route, approval id, expires at (ms), paused run json, keep for (ms), worker id,
        --       queue entry id, consumer group, then the record's field-value pairs
        if redis.call('EXISTS', KEYS[2]) == 1 then
          return 0
        end
        redis.call('XADD', KEYS[1], '*', '\(PartitionEntry.Field.event)', ARGV[1], '\(PartitionEntry.Field.route)', ARGV[2])
        redis.call('HSET', KEYS[2], unpack(ARGV, 10))
        redis.call('PEXPIRE', KEYS[2], ARGV[6])
        redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
        redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[6])
        if redis.call('EXISTS', KEYS[5]) == 1 then
          redis.call('HSET', KEYS[5], '\(RunRecord.Field.status)', '\(RunRecord.Status.paused)', '\(RunRecord.Field.approval)', ARGV[3])
        end
        -- The run's record and its thread's busy marker outlive the wait, however long it may be.
        for _, key in ipairs({KEYS[5], KEYS[8]}) do
          local left = redis.call('PTTL', key)
          if left >= 0 and left < tonumber(ARGV[6]) then
            redis.call('PEXPIRE', key, ARGV[6])
          end
        end
        if redis.call('GET', KEYS[6]) == ARGV[7] then
          redis.call('DEL', KEYS[6])
        end
        redis.call('XACK', KEYS[7], ARGV[9], ARGV[8])
        redis.call('XDEL', KEYS[7], ARGV[8])
        return 1
        """
    )

    let redis: RedisClient
    let keys: RedisKeys
    let partitions: Int
    /// The run queue entry the worker took the run from.
    let queueEntryID: String
    let workerID: String
    /// How long the approval's record and the run's state outlive the request's expiry.
    let retentionSeconds: Int

    public init(redis: RedisClient, keys: RedisKeys, partitions: Int, queueEntryID: String, workerID: String, retentionSeconds: Int) {
        self.redis = redis
        self.keys = keys
        self.partitions = partitions
        self.queueEntryID = queueEntryID
        self.workerID = workerID
        self.retentionSeconds = retentionSeconds
    }

    public func suspend(_ run: PausedRun) async throws {
        let record = run.approvalRecord
        let expiresAt = HeraldTimestamp.secondsSince1970(run.approval.expiresAt) ?? 0
        let requestedAt = HeraldTimestamp.secondsSince1970(run.approval.requestedAt) ?? expiresAt
        let keepMilliseconds = Int((expiresAt - requestedAt) * 1000) + retentionSeconds * 1000
        let entry = PartitionEntry(run.requestEvent).fields
        let partition = keys.eventPartition(RedisKeys.partition(of: run.input.threadID, partitions: partitions))
        var arguments: [RedisArgument] = [
            entry[0].1, entry[1].1, RedisArgument(record.approvalID), RedisArgument(Int(expiresAt * 1000)),
            RedisArgument(run.encodedJSON()), RedisArgument(keepMilliseconds), RedisArgument(workerID), RedisArgument(queueEntryID),
            RedisArgument(RedisKeys.runConsumerGroup),
        ]
        arguments += record.pendingFields.map { RedisArgument($0) }
        _ = try await redis.evalScript(
            Self.script,
            keys: [
                partition, keys.approval(record.approvalID), keys.approvalDeadlines, keys.runPaused(run.input.runID), keys.run(run.input.runID),
                keys.runLease(run.input.runID), keys.runQueue, keys.threadActiveRun(run.input.threadID),
            ],
            arguments: arguments
        )
    }
}
