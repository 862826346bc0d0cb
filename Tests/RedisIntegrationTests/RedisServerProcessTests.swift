import Foundation
import HeraldTesting
import Redis
import Testing

@Suite("RedisServerProcess", .timeLimit(.minutes(1)))
struct RedisServerProcessTests {
    @Test func killRestartStop() async throws {
        let server = try await RedisServerProcess.start()
        #expect(server.url == "redis://127.0.0.1:\(server.port)")
        #expect(server.isRunning)
        let before = try await RedisConnection.connect(configuration: try configuration(server), logger: testLogger)
        try await before.ping()

        await server.kill()
        #expect(!server.isRunning)
        await #expect(throws: RedisError.self) { try await before.ping() }

        try await server.restart()
        #expect(server.isRunning)
        let after = try await RedisConnection.connect(configuration: try configuration(server), logger: testLogger)
        try await after.ping()
        await after.close()

        await server.stop()
        #expect(!server.isRunning)
    }

    @Test func serversRunSideBySide() async throws {
        let servers = try await withThrowingTaskGroup(of: RedisServerProcess.self) { group in
            for _ in 0..<4 {
                group.addTask { try await RedisServerProcess.start() }
            }
            return try await group.reduce(into: [RedisServerProcess]()) { $0.append($1) }
        }
        #expect(Set(servers.map(\.port)).count == 4)
        for server in servers {
            await server.stop()
        }
    }

    @Test func extraArgumentsAndPassword() async throws {
        try await withRedisServer(password: "pw", arguments: ["--maxmemory", "7mb"]) { server in
            #expect(server.password == "pw")
            let client = RedisClient(configuration: try RedisConfiguration(url: "redis://:pw@127.0.0.1:\(server.port)"), logger: testLogger)
            let maxmemory = try await client.send("CONFIG", "GET", "maxmemory").array?.last?.int
            #expect(maxmemory == 7 * 1024 * 1024)
            await client.close()
        }
    }
}
