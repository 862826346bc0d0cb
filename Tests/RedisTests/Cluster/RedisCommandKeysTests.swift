import Redis
import Testing

/// Which arguments are keys, for every command Herald sends (grep of Shared/ and Services/) and their relatives.
@Suite("RedisCommandKeys")
struct RedisCommandKeysTests {
    static let firstArgumentKeyCommands: [[RedisArgument]] = [
        ["GET", "k"], ["SET", "k", "v", "PX", 100, "NX"], ["HGET", "k", "f"], ["HMGET", "k", "a", "b"], ["HGETALL", "k"],
        ["HVALS", "k"], ["HSETNX", "k", "f", "v"], ["HSET", "k", "f", "v"], ["EXPIRE", "k", 10], ["TTL", "k"],
        ["ZADD", "k", 1, "m"], ["ZREM", "k", "m"], ["ZCARD", "k"], ["ZRANGE", "k", 0, -1], ["ZRANGEBYSCORE", "k", "-inf", "+inf"],
        ["ZREMRANGEBYSCORE", "k", "-inf", 5], ["LRANGE", "k", 0, -1], ["XADD", "k", "MAXLEN", "~", 100, "*", "f", "v"],
        ["XACK", "k", "group", "1-0", "2-0"], ["XDEL", "k", "1-0"], ["XCLAIM", "k", "g", "c", 1000, "1-0", "JUSTID"],
        ["XAUTOCLAIM", "k", "g", "c", 1000, "0-0", "COUNT", 10], ["XPENDING", "k", "g", "IDLE", 100, "-", "+", "100"],
        ["XRANGE", "k", "-", "+", "COUNT", 5], ["XLEN", "k"], ["INCR", "k"],
    ]

    @Test(arguments: firstArgumentKeyCommands)
    func theKeyIsTheFirstArgument(_ command: [RedisArgument]) throws {
        #expect(RedisCommandKeys.positions(of: command) == .keys([1]))
        #expect(try RedisCommandKeys.slot(of: command) == RedisHashSlot.hashSlot(of: "k"))
    }

    @Test(
        arguments: [
            ["PING"], ["TIME"], ["INFO", "replication"], ["SCAN", 0, "COUNT", 1000], ["PUBLISH", "channel", "m"], ["CLUSTER", "SHARDS"],
            ["ACL", "SETUSER", "u"], ["SELECT", 1], ["AUTH", "u", "p"], ["SCRIPT", "EXISTS", "abc"], ["EVALSHA", "abc", 0],
            ["EVAL", "return 1", "0", "x"], [],
        ] as [[RedisArgument]]
    )
    func keylessCommandsGoAnywhere(_ command: [RedisArgument]) throws {
        #expect(RedisCommandKeys.positions(of: command) == .keyless)
        #expect(try RedisCommandKeys.slot(of: command) == nil)
    }

    @Test func scriptLoadAndFlushGoToEveryPrimary() {
        #expect(RedisCommandKeys.positions(of: ["SCRIPT", "LOAD", "return 1"]) == .everyPrimary)
        #expect(RedisCommandKeys.positions(of: ["script", "flush"]) == .everyPrimary)
    }

    @Test func scriptKeysFollowNumkeys() throws {
        #expect(RedisCommandKeys.positions(of: ["EVALSHA", "sha", 2, "{t}a", "{t}b", "arg", "arg"]) == .keys([3, 4]))
        #expect(RedisCommandKeys.positions(of: ["EVAL", "return 1", "1", "k", "arg"]) == .keys([3]))
        #expect(RedisCommandKeys.positions(of: ["evalsha", "sha", 3, "a", "b", "c"]) == .keys([3, 4, 5]))
        // numkeys beyond the arguments: the server refuses it; routed anywhere rather than crash.
        #expect(RedisCommandKeys.positions(of: ["EVALSHA", "sha", 3, "a"]) == .keyless)
        #expect(RedisCommandKeys.positions(of: ["EVALSHA", "sha", "x", "a"]) == .keyless)
        #expect(try RedisCommandKeys.slot(of: ["EVALSHA", "sha", 2, "{t}a", "{t}b"]) == RedisHashSlot.hashSlot(of: "t"))
    }

    @Test func streamReadKeysComeAfterStreams() {
        #expect(RedisCommandKeys.positions(of: ["XREAD", "COUNT", 10, "BLOCK", 1000, "STREAMS", "a", "b", "0-0", "0-0"]) == .keys([6, 7]))
        #expect(RedisCommandKeys.positions(of: ["XREAD", "STREAMS", "a", "$"]) == .keys([2]))
        #expect(
            RedisCommandKeys.positions(of: ["XREADGROUP", "GROUP", "g", "c", "COUNT", 1, "STREAMS", "s", ">"]) == .keys([7])
        )
        // A group or consumer named STREAMS: the last STREAMS word is the keyword.
        #expect(RedisCommandKeys.positions(of: ["XREADGROUP", "GROUP", "STREAMS", "c", "STREAMS", "s", ">"]) == .keys([5]))
        #expect(RedisCommandKeys.positions(of: ["XREAD", "STREAMS", "a"]) == .keyless)
    }

    @Test func subcommandKeys() {
        #expect(RedisCommandKeys.positions(of: ["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"]) == .keys([2]))
        #expect(RedisCommandKeys.positions(of: ["XINFO", "GROUPS", "k"]) == .keys([2]))
    }

    @Test func multiKeyCommands() {
        #expect(RedisCommandKeys.positions(of: ["EXISTS", "a", "b"]) == .keys([1, 2]))
        #expect(RedisCommandKeys.positions(of: ["UNLINK", "a", "b", "c"]) == .keys([1, 2, 3]))
        #expect(RedisCommandKeys.positions(of: ["DEL", "a"]) == .keys([1]))
        #expect(RedisCommandKeys.positions(of: ["MSET", "a", 1, "b", 2]) == .keys([1, 3]))
        #expect(RedisCommandKeys.positions(of: ["BLPOP", "a", "b", 5]) == .keys([1, 2]))
        #expect(RedisCommandKeys.positions(of: ["RENAME", "a", "b"]) == .keys([1, 2]))
    }

    @Test func keysOnOneSlotShareIt() throws {
        #expect(try RedisCommandKeys.slot(of: ["UNLINK", "{run:1}.a", "{run:1}.b"]) == RedisHashSlot.hashSlot(of: "run:1"))
        #expect(try RedisCommandKeys.slot(of: ["MGET", "same", "same"]) == RedisHashSlot.hashSlot(of: "same"))
    }

    @Test func keysAcrossSlotsAreRefusedWithAClearError() throws {
        #expect(RedisHashSlot.hashSlot(of: "a") != RedisHashSlot.hashSlot(of: "b"))
        let error = #expect(throws: RedisError.self) {
            try RedisCommandKeys.slot(of: ["EVALSHA", "sha", 2, "a", "b", "argument"])
        }
        #expect(error?.kind == .crossSlot)
        #expect(error?.message.contains("EVALSHA") == true)
        #expect(error?.message.contains("a (slot \(RedisHashSlot.hashSlot(of: "a")))") == true)
        #expect(error?.message.contains("hash tag") == true)
    }
}
