import HeraldTesting
import Redis
import Testing

@Suite("Scripts", .timeLimit(.minutes(1)))
struct ScriptTests {
    static let incrementBy = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")

    @Test func sha1MatchesRedis() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                let loaded = try await client.send("SCRIPT", "LOAD", Self.incrementBy.source)
                #expect(loaded.string == Self.incrementBy.sha1)
                #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
            }
        }
    }

    @Test func fallsBackToEvalOnNOSCRIPT() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                #expect(try await client.evalScript(Self.incrementBy, keys: ["counter"], arguments: ["5"]) == .integer(5))
                #expect(try await client.send("SCRIPT", "EXISTS", Self.incrementBy.sha1) == .array([.integer(1)]))
                _ = try await client.send("SCRIPT", "FLUSH")
                #expect(try await client.send("SCRIPT", "EXISTS", Self.incrementBy.sha1) == .array([.integer(0)]))
                #expect(try await client.evalScript(Self.incrementBy, keys: ["counter"], arguments: [RedisArgument(7)]) == .integer(12))
                #expect(try await client.evalScript(Self.incrementBy, keys: ["counter"], arguments: ["1"]) == .integer(13))
            }
        }
    }

    @Test func scriptErrorsSurface() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                await #expect {
                    _ = try await client.evalScript(RedisScript("return redis.error_reply('BUSYGROUP custom')"), keys: [], arguments: [])
                } throws: { error in
                    (error as? RedisError)?.isServerError(prefix: "BUSYGROUP") == true
                }
            }
        }
    }
}
