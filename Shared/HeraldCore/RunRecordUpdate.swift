import Redis

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
