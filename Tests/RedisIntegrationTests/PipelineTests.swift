import HeraldTesting
import Redis
import Testing

@Suite("Pipelining", .timeLimit(.minutes(1)))
struct PipelineTests {
    static let count = 10_000

    @Test func concurrentSendsAreAnsweredInOrder() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<Self.count {
                        group.addTask { try await client.send("INCR", "counter").decode() }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(counts.sorted() == Array(1...Self.count))

                // Each sender must get its own reply back, not a neighbour's.
                let mismatches = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<Self.count {
                        group.addTask { try await client.send("ECHO", "message-\(index)").string != "message-\(index)" }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(mismatches == 0)
            }
        }
    }

    @Test func concurrentSendsOnOneConnection() async throws {
        try await withRedisServer { server in
            try await withClient(server, { $0.poolSize = 1 }) { client in
                let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<Self.count {
                        group.addTask { try await client.send("INCR", "counter").decode() }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(counts.sorted() == Array(1...Self.count))
            }
        }
    }

    @Test func onePipelineBatch() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                let commands = Array(repeating: ["INCR", "counter"] as [RedisArgument], count: Self.count)
                let results = try await client.pipeline(commands)
                #expect(try results.map { try $0.get().decode(as: Int.self) } == Array(1...Self.count))
            }
        }
    }

    @Test func pipelineOnAConnection() async throws {
        try await withRedisServer { server in
            let connection = try await RedisConnection.connect(configuration: try configuration(server), logger: testLogger)
            let results = try await connection.pipeline((1...100).map { ["ECHO", RedisArgument($0)] })
            #expect(try results.map { try $0.get().int } == Array(1...100))
            #expect(try await connection.send("ECHO", "solo").string == "solo")
            await connection.close()
            #expect(connection.isClosed)
            await #expect(throws: RedisError.self) { try await connection.ping() }
        }
    }

    @Test func tasksCanRunOnTheConnectionsEventLoop() async throws {
        try await withRedisServer { server in
            let connection = try await RedisConnection.connect(configuration: try configuration(server), logger: testLogger)
            let answers = try await withTaskExecutorPreference(connection.taskExecutor) {
                var answers: [Int?] = []
                for index in 0..<100 {
                    answers.append(try await connection.send("ECHO", index).int)
                    #expect(connection.eventLoop.inEventLoop)
                }
                return answers
            }
            #expect(answers == Array(0..<100))
            await connection.close()
        }
    }
}
