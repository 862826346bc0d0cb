import HeraldTesting
import Redis
import Testing

/// An ACL user with Herald's rules (`HeraldRedisACL`), over TLS with a client certificate, as a deployment that
/// follows deploy/README.md runs.
@Suite("ACL user limited to a key prefix", .timeLimit(.minutes(1)))
struct ACLTests {
    static let echo = RedisScript("return redis.call('GET', KEYS[1]) .. ARGV[1]")

    /// Starts a TLS server whose default user has a password, adds the user `herald` limited to `app:*`, and runs
    /// `body` with a client logged in as `herald`.
    private func withHeraldUser(_ body: (RedisServerProcess, RedisClient) async throws -> Void) async throws {
        try await withRedisServer(password: "admin-pw", tls: try await RedisServerTLS.make()) { server in
            #expect(try await server.reply(HeraldRedisACL.setUser("herald", password: "herald-pw", prefix: "app")) == .simpleString("OK"))
            try await withClient(server, { $0 = try! server.configuration(username: "herald", password: "herald-pw") }) { client in
                try await body(server, client)
            }
        }
    }

    @Test("commands, a stream with a consumer group, a script and pub/sub work under the prefix")
    func withinThePrefix() async throws {
        try await withHeraldUser { server, client in
            _ = try await client.send("SET", "app:key", "value")
            #expect(try await client.send("GET", "app:key").string == "value")
            #expect(try await client.evalScript(Self.echo, keys: ["app:key"], arguments: ["!"]).string == "value!")
            try await client.xgroupCreate("app:runs", group: "workers", startID: "0")
            _ = try await client.xadd("app:runs", fields: [("run", "r1")])
            let read = try await client.xreadgroup(group: "workers", consumer: "w1", streams: [("app:runs", ">")], count: 10)
            #expect(read.first?.entries.first?.string("run") == "r1")

            let subscriber = RedisSubscriber(configuration: client.configuration, logger: testLogger)
            let running = Task { try await subscriber.run() }
            defer { running.cancel() }
            try await waitUntil("the subscriber connects") { subscriber.isConnected }
            let events = try await subscriber.subscribe("app:thread:{t1}:events")
            #expect(try await client.publish("app:thread:{t1}:events", "frame") == 1)
            var iterator = events.makeAsyncIterator()
            #expect(try await nextMessage(&iterator) == "frame")
            running.cancel()
            try await running.value
        }
    }

    @Test("a key outside the prefix, a script's key outside it and a command outside the list are refused with NOPERM")
    func outsideThePrefix() async throws {
        try await withHeraldUser { server, client in
            _ = try await server.reply(["SET", "other:key", "theirs"])
            await #expect {
                _ = try await client.send("GET", "other:key")
            } throws: { error in
                guard let error = error as? RedisError, error.isServerError(prefix: "NOPERM") else { return false }
                return "\(error)" == "Redis error: NOPERM this user has no permissions to access one of the keys used as arguments"
            }
            await #expect {
                _ = try await client.evalScript(Self.echo, keys: ["other:key"], arguments: ["!"])
            } throws: { error in
                (error as? RedisError)?.isServerError(prefix: "NOPERM") == true
            }
            // A script that reaches past its KEYS is stopped by Redis as well, inside the script.
            await #expect {
                _ = try await client.evalScript(RedisScript("return redis.call('GET', 'other:key')"), keys: [], arguments: [])
            } throws: { error in
                guard let error = error as? RedisError, case .server(let message) = error.kind else { return false }
                return message.contains("can't access at least one of the keys")
            }
            await #expect {
                _ = try await client.send("FLUSHALL")
            } throws: { error in
                guard let error = error as? RedisError, error.isServerError(prefix: "NOPERM") else { return false }
                return error.message.contains("'flushall'")
            }
            #expect(try await server.string("GET", "other:key") == "theirs")
        }
    }

    @Test("a wrong password for the ACL user is a clear authentication error that does not show the password")
    func wrongPassword() async throws {
        try await withRedisServer(password: "admin-pw", tls: try await RedisServerTLS.make()) { server in
            _ = try await server.reply(HeraldRedisACL.setUser("herald", password: "herald-pw", prefix: "app"))
            await #expect {
                _ = try await RedisConnection.connect(
                    configuration: try server.configuration(username: "herald", password: "not-it"),
                    logger: testLogger
                )
            } throws: { error in
                guard let error = error as? RedisError, error.kind == .authenticationFailed else { return false }
                return "\(error)"
                    == "Redis authentication failed: rediss://herald:***@127.0.0.1:\(server.port) refused the credentials: WRONGPASS invalid username-password pair or user is disabled."
            }
        }
    }
}
