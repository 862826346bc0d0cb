import HeraldCore
import Redis

/// The lease that makes one relay the only owner of an event partition.
///
/// A lease is a key holding the owner's id with an expiry; the owner renews it well before it
/// lapses. Renewal and release compare the holder first, so a relay that stalled past its
/// lease can never extend or delete a successor's.
struct PartitionLease: Sendable {
    static let acquireOrRenew = RedisScript(
        """
        local holder = redis.call('GET', KEYS[1])
        if holder == false then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return 1
        elseif holder == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """
    )

    static let release = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """
    )

    let keys: RedisKeys
    let owner: String
    let duration: Duration

    /// Takes the partition if free or renews it if already ours; false when another relay holds it.
    func acquireOrRenew(_ partition: Int, on redis: RedisClient) async throws -> Bool {
        let reply = try await redis.evalScript(
            Self.acquireOrRenew,
            keys: [keys.partitionLease(partition)],
            arguments: [RedisArgument(owner), RedisArgument(Int(duration.milliseconds))]
        )
        return reply.int == 1
    }

    func release(_ partition: Int, on redis: RedisClient) async throws {
        _ = try await redis.evalScript(Self.release, keys: [keys.partitionLease(partition)], arguments: [RedisArgument(owner)])
    }
}

extension Duration {
    /// Whole milliseconds, for Redis's PX arguments.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
