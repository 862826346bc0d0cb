/// The Redis ACL rules Herald's services need and no more: every command they send (directly or from their Lua
/// scripts, which Redis checks against the same user), on keys and channels under the deployment's prefix only.
///
/// The list is what `grep` finds in Shared/ and Services/; the end-to-end TLS test runs a deployment as a user
/// with exactly these rules, so a command added without updating them fails there with NOPERM.
public enum HeraldRedisACL {
    /// The commands, by the name `ACL SETUSER` takes (`xgroup|create` is one subcommand).
    public static let commands = [
        // Connection: liveness (/readyz, the connect check over TLS), a database other than 0, the relay's clock.
        "ping", "select", "time",
        // Strings and keys: leases, markers, the live answer, expiries.
        "get", "set", "exists", "del", "unlink", "expire", "pexpire", "ttl", "pttl", "append",
        // Hashes: run, thread, approval and log-state records.
        "hget", "hmget", "hset", "hsetnx", "hdel", "hgetall", "hvals",
        // Lists: thread history, run lists, conversations.
        "rpush", "lrange", "ltrim", "llen",
        // Sorted sets: users' threads, relay membership, approval deadlines.
        "zadd", "zrem", "zrange", "zrangebyscore", "zremrangebyscore", "zcard",
        // Streams: the run queue (consumer group "workers") and the event partitions.
        "xadd", "xread", "xreadgroup", "xrange", "xlen", "xack", "xdel", "xtrim", "xclaim", "xautoclaim", "xpending",
        "xgroup|create", "xinfo|groups",
        // Pub/sub: thread events and cancellations.
        "publish", "subscribe", "unsubscribe",
        // Scripts: the atomic steps (EVALSHA, and EVAL once after Redis forgot the script).
        "evalsha", "eval",
    ]

    /// `ACL SETUSER` arguments for `user` with `password`, allowed `commands` on keys and channels `<prefix>:*`.
    public static func setUser(_ user: String, password: String, prefix: String) -> [String] {
        ["ACL", "SETUSER", user, "reset", "on", ">\(password)", "~\(prefix):*", "&\(prefix):*", "-@all"] + commands.map { "+\($0)" }
    }
}
