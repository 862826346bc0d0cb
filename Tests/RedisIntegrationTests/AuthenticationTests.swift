import HeraldTesting
import Redis
import Testing

@Suite("AUTH and SELECT", .timeLimit(.minutes(1)))
struct AuthenticationTests {
    @Test func passwordAndDatabase() async throws {
        try await withRedisServer(password: "s3cret") { server in
            let client = RedisClient(configuration: try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:\(server.port)/3"), logger: testLogger)
            _ = try await client.send("SET", "in-db-3", "yes")
            #expect(try await client.send("CLIENT", "INFO").string?.contains(" db=3 ") == true)
            await client.close()

            let database0 = RedisClient(configuration: try RedisConfiguration(url: "redis://s3cret@127.0.0.1:\(server.port)"), logger: testLogger)
            #expect(try await database0.send("EXISTS", "in-db-3").int == 0)
            let existsInDatabase3 = try await database0.withDedicatedConnection { connection in
                _ = try await connection.send("SELECT", 3)
                return try await connection.send("EXISTS", "in-db-3").int
            }
            #expect(existsInDatabase3 == 1)
            await database0.close()
        }
    }

    @Test func aclUser() async throws {
        try await withRedisServer(password: "s3cret") { server in
            let admin = RedisClient(configuration: try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:\(server.port)"), logger: testLogger)
            _ = try await admin.send("ACL", "SETUSER", "alice", "on", ">alice-pw", "~*", "&*", "+@all")
            await admin.close()

            let alice = RedisClient(
                configuration: try RedisConfiguration(url: "redis://alice:alice-pw@127.0.0.1:\(server.port)/1"),
                logger: testLogger
            )
            #expect(try await alice.send("ACL", "WHOAMI").string == "alice")
            await alice.close()
        }
    }

    @Test func wrongPasswordIsAClearError() async throws {
        try await withRedisServer(password: "s3cret") { server in
            let client = RedisClient(configuration: try RedisConfiguration(url: "redis://:wrong@127.0.0.1:\(server.port)"), logger: testLogger)
            await #expect {
                try await client.ping()
            } throws: { error in
                guard let error = error as? RedisError, error.kind == .authenticationFailed else { return false }
                return error.message.contains("WRONGPASS") && !error.message.contains("wrong@")
            }
            await client.close()

            let connect = {
                try await RedisConnection.connect(
                    configuration: try RedisConfiguration(url: "redis://nobody:x@127.0.0.1:\(server.port)"),
                    logger: testLogger
                )
            }
            await #expect { _ = try await connect() } throws: { ($0 as? RedisError)?.kind == .authenticationFailed }
        }
    }

    @Test func missingPasswordSurfacesNOAUTH() async throws {
        try await withRedisServer(password: "s3cret") { server in
            try await withClient(server) { client in
                await #expect {
                    try await client.ping()
                } throws: { error in
                    (error as? RedisError)?.isServerError(prefix: "NOAUTH") == true
                }
            }
        }
    }

    @Test func databaseOutOfRange() async throws {
        try await withRedisServer { server in
            let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(server.port)/999"), logger: testLogger)
            await #expect {
                try await client.ping()
            } throws: { error in
                guard let error = error as? RedisError, error.kind == .connectFailed else { return false }
                return error.message.contains("SELECT 999") && error.message.contains("out of range")
            }
            await client.close()
        }
    }

    @Test func nothingListening() async throws {
        let port: Int = try await withRedisServer { $0.port }
        let client = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(port)"), logger: testLogger)
        await #expect {
            try await client.ping()
        } throws: { error in
            guard let error = error as? RedisError, error.kind == .connectFailed else { return false }
            return error.message.contains("127.0.0.1:\(port)")
        }
        await client.close()
    }
}
