import HeraldTesting
import Redis
import Testing

@Suite("Failures and recovery", .timeLimit(.minutes(1)))
struct FailureTests {
    @Test func serverKilledMidPipelineThenRestarted() async throws {
        try await withRedisServer { server in
            let patient = try configuration(server) {
                $0.poolSize = 1
                $0.commandTimeout = .seconds(60)
            }
            try await withClient(server, { $0 = patient }) { client in
                try await withClient(server) { observer in
                    try await withSubscriber(server) { subscriber in
                        let alpha = try await subscriber.subscribe("alpha")
                        let beta = try await subscriber.subscribe("beta")

                        // In flight when the server dies: a pooled BLPOP, and on another connection a BLPOP with a
                        // pipeline batch and single commands queued behind it.
                        let pooled = Task { try await client.send("BLPOP", "never", 0) }
                        let connection = try await RedisConnection.connect(configuration: patient, logger: testLogger)
                        let blocked = Task { try await connection.send("BLPOP", "never", 0) }
                        try await waitUntil("both BLPOPs block") { try await info(observer, "blocked_clients") == 2 }
                        let batch = Task { try await connection.pipeline((0..<500).map { _ in ["INCR", "n"] }) }
                        let singles = (0..<200).map { _ in Task { try await connection.send("PING") } }

                        await server.kill()

                        let connectionClosed: @Sendable (any Error) -> Bool = { ($0 as? RedisError)?.kind == .connectionClosed }
                        await #expect(performing: { _ = try await pooled.value }, throws: connectionClosed)
                        await #expect(performing: { _ = try await blocked.value }, throws: connectionClosed)
                        await #expect(performing: { _ = try await batch.value }, throws: connectionClosed)
                        for single in singles {
                            await #expect(performing: { _ = try await single.value }, throws: connectionClosed)
                        }
                        #expect(connection.isClosed)
                        await #expect(performing: { _ = try await connection.send("PING") }, throws: connectionClosed)

                        // While the server is down the next command tries to reconnect and says why it cannot.
                        await #expect(performing: { try await client.ping() }, throws: { ($0 as? RedisError)?.kind == .connectFailed })

                        try await server.restart()
                        try await client.ping()
                        #expect(try await client.send("INCR", "fresh").int == 1)
                        #expect(try await client.withDedicatedConnection { try await $0.send("ECHO", "again").string } == "again")

                        // Every subscription hears about the gap, then gets new messages.
                        var alphaEvents = alpha.makeAsyncIterator()
                        var betaEvents = beta.makeAsyncIterator()
                        #expect(try await alphaEvents.next() == .resubscribed)
                        #expect(try await betaEvents.next() == .resubscribed)
                        #expect(subscriber.isConnected)
                        #expect(try await client.publish("alpha", "after restart") == 1)
                        #expect(try await client.publish("beta", "after restart") == 1)
                        #expect(try await nextMessage(&alphaEvents) == "after restart")
                        #expect(try await nextMessage(&betaEvents) == "after restart")
                    }
                }
            }
        }
    }

    @Test func commandTimeoutClosesTheConnection() async throws {
        try await withRedisServer { server in
            try await withClient(
                server,
                {
                    $0.poolSize = 1
                    $0.commandTimeout = .seconds(1)
                }
            ) { client in
                let timedOut: @Sendable (any Error) -> Bool = { error in
                    guard let error = error as? RedisError, error.kind == .timeout else { return false }
                    return error.message.contains("within 1s")
                }
                // Long enough that the PINGs below reach the sleeping server even when the whole suite loads both cores.
                await #expect(performing: { _ = try await client.send("DEBUG", "SLEEP", 15) }, throws: timedOut)

                // The server sleeps on: commands sent now on a fresh connection all wait, and when the oldest times
                // out every one of them fails with it.
                let pending = (0..<10).map { _ in Task { try await client.send("PING") } }
                for command in pending {
                    await #expect(performing: { _ = try await command.value }, throws: timedOut)
                }

                // A patient client waits for the server to wake; then the impatient one works again.
                try await withClient(server, { $0.commandTimeout = .seconds(60) }) { try await $0.ping() }
                try await client.ping()
                #expect(try await client.send("ECHO", "alive").string == "alive")
            }
        }
    }

    @Test func closingTheClientFailsCommands() async throws {
        try await withRedisServer { server in
            let client = RedisClient(configuration: try configuration(server) { $0.poolSize = 1 }, logger: testLogger)
            try await client.xgroupCreate("stream", group: "g")
            let pooled = Task { try await client.send("BLPOP", "never", 0) }
            let dedicated = Task { try await client.xreadgroup(group: "g", consumer: "c", streams: [(key: "stream", id: ">")], block: .zero) }
            try await withClient(server) { observer in
                try await waitUntil("both reads block") { try await info(observer, "blocked_clients") == 2 }
            }
            await client.close()
            let closed: @Sendable (any Error) -> Bool = { ($0 as? RedisError)?.kind == .connectionClosed }
            await #expect(performing: { _ = try await pooled.value }, throws: closed)
            await #expect(performing: { _ = try await dedicated.value }, throws: closed)
            await #expect(performing: { try await client.ping() }, throws: closed)
            await #expect(performing: { _ = try await client.withDedicatedConnection { try await $0.send("PING") } }, throws: closed)
        }
    }
}
