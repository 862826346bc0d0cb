import Redis

/// A run's record (`RedisKeys.run`), a hash: the gateway creates it when it queues the run, the worker that takes the
/// run and the watchdog that closes a lost one update it.
public enum RunRecord {
    /// Field names, in one place for every service and script.
    public enum Field {
        public static let threadID = "thread_id"
        public static let userID = "user_id"
        /// `queued`, `running`, `paused`, `done` or `worker_lost`.
        public static let status = "status"
        public static let createdAt = "created_at"
        /// The worker running it.
        public static let worker = "worker"
        public static let startedAt = "started_at"
        public static let finishedAt = "finished_at"
        /// How a finished run ended (`RunOutcome.label`).
        public static let outcome = "outcome"
        /// The approval a paused run waits for.
        public static let approval = "approval"
    }

    /// Values of `Field.status`.
    public enum Status {
        public static let queued = "queued"
        public static let running = "running"
        /// Waiting for a person's decision on a tool call: no worker holds it.
        public static let paused = "paused"
        public static let done = "done"
        public static let workerLost = "worker_lost"
    }
}

/// Changes to a run's record (`RedisKeys.run`) made after the gateway created it: they touch a record that exists
/// and never create one, so a record that expired, or went with its deleted thread, is not left behind without an
/// expiry by a worker or watchdog that finished the run later.
public enum RunRecordUpdate {
    static let script = RedisScript(
        """
        -- KEYS: the run's record
        -- ARGV: field, value, field, value, …
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return 0
        end
        return redis.call('HSET', KEYS[1], unpack(ARGV))
        """
    )

    /// Sets `fields` on run `runID`'s record when it exists.
    public static func set(_ fields: KeyValuePairs<String, String>, ofRun runID: String, keys: RedisKeys, on redis: RedisClient) async throws {
        var arguments: [RedisArgument] = []
        for (name, value) in fields { arguments += [RedisArgument(name), RedisArgument(value)] }
        _ = try await redis.evalScript(script, keys: [keys.run(runID)], arguments: arguments)
    }
}
