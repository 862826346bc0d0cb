import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Logging
import Prometheus
import Redis
import Testing

@testable import Worker

/// herald-worker's service against a real redis-server: runs go in on the run queue, events come out
/// on the thread's event partition.
@Suite("Worker service with Redis", .timeLimit(.minutes(2)))
struct WorkerServiceTests {
    /// One worker and a Redis client, with keys under a prefix of their own.
    struct Harness {
        let redis: RedisClient
        let settings: WorkerSettings
        let service: WorkerService

        init(server: RedisServerProcess, concurrency: Int = 4, grace: Duration = .seconds(10)) throws {
            let configuration = try RedisConfiguration(url: server.url)
            let prefix = "t\(UUID().uuidString.prefix(8).lowercased())"
            redis = RedisClient(configuration: configuration, logger: Logger.test("herald.worker.tests"))
            settings = WorkerSettings(
                common: CommonSettings(redis: configuration, keys: RedisKeys(prefix: prefix), eventPartitions: 4),
                concurrency: concurrency,
                offlineDelay: .zero,
                gracePeriod: grace
            )
            service = WorkerService(
                settings: settings,
                redis: redis,
                model: OfflineModel(wordDelay: .zero),
                tools: ToolRegistry.standard(docs: .empty),
                mcp: MCPToolbox(
                    servers: [],
                    startTimeout: .seconds(1),
                    registry: PrometheusCollectorRegistry(),
                    logger: Logger.test("herald.worker.tests")
                ),
                metrics: WorkerMetrics(registry: PrometheusCollectorRegistry()),
                logger: Logger.test("herald.worker.tests")
            )
        }

        var keys: RedisKeys { settings.common.keys }

        /// Puts a run on the queue the way the gateway does.
        @discardableResult
        func enqueue(_ content: String, threadID: String, runID: String = Identifier.make("run")) async throws -> String {
            let request = RunRequest(runID: runID, threadID: threadID, userID: "user_1", content: content)
            // As a gateway does: the thread's record exists before its first run, and the run's before it is queued.
            _ = try await redis.send("HSET", keys.thread(threadID), ThreadRecord.Field.owner, "user_1")
            _ = try await redis.send("HSET", keys.run(runID), "thread_id", threadID, "user_id", "user_1", "status", "queued")
            try await redis.xadd(keys.runQueue, fields: [(RunRequest.streamField, RedisArgument(request.encodedJSON()))])
            return runID
        }

        /// Reads the thread's event partition until `runID`'s terminal event, and returns the run's events.
        func events(of runID: String, threadID: String, until stop: (AgentEvent) -> Bool = \.isRunTerminal) async throws -> [AgentEvent] {
            let partition = keys.eventPartition(RedisKeys.partition(of: threadID, partitions: settings.common.eventPartitions))
            try await redis.xgroupCreate(partition, group: "test", startID: "0")
            var events: [AgentEvent] = []
            while true {
                let reads = try await redis.xreadgroup(
                    group: "test",
                    consumer: "reader",
                    streams: [(key: partition, id: ">")],
                    count: 100,
                    block: .seconds(1)
                )
                for entry in reads.flatMap(\.entries) {
                    let pending = try #require(PartitionEntry(entry))
                    let event = try AgentEvent.decode(pending.json)
                    #expect(pending.threadID == event.threadID && pending.runID == event.runID && pending.eventID == event.eventID)
                    #expect(pending.type == event.type && pending.isRunTerminal == event.isRunTerminal && pending.timestamp == event.timestamp)
                    guard event.runID == runID else { continue }
                    events.append(event)
                    if stop(event) { return events }
                }
            }
        }

        /// Starts the worker beside its cancellations' pub/sub connection, as its executable's group runs them; the
        /// connection stops once the worker has.
        func start() -> Task<Void, any Error> {
            let service = self.service
            return Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await RedisSubscriberService(service.subscriber).run() }
                    try await service.run()
                    group.cancelAll()
                }
            }
        }

        /// Runs the service while `body` runs, then shuts it down gracefully and waits for it to stop.
        func whileRunning<T: Sendable>(_ body: () async throws -> T) async throws -> T {
            let service = self.service
            let running = start()
            do {
                let result = try await body()
                await service.beginShutdown()
                try await running.value
                return result
            } catch {
                running.cancel()
                _ = await running.result
                throw error
            }
        }
    }

    private static func violations(_ events: [AgentEvent]) -> [RunRuleViolation] {
        RunRulesValidator.validate(events.enumerated().map { EventFrame(seq: $0.offset + 1, epoch: "test", event: $0.element) })
    }

    @Test("a queued run is executed, its events land in the thread's partition, and its bookkeeping is done")
    func executesARun() async throws {
        try await withRedisServer { server in
            let harness = try Harness(server: server)
            let threadID = Identifier.make("thread")
            let runID = try await harness.enqueue("what is (17*3)+4?", threadID: threadID)
            let events = try await harness.whileRunning {
                try await harness.events(of: runID, threadID: threadID)
            }
            #expect(Self.violations(events) == [])
            #expect(events.first?.agentName == AgentName.supervisor)
            let report = events.compactMap { if case .finalReport(let body) = $0.payload { body.report } else { nil } }
            #expect(report == ["(17*3)+4 = 55"])
            guard case .agentCompleted(let end)? = events.last?.payload else {
                Issue.record("the run did not end with agent_completed")
                return
            }
            #expect(end.status == .success)

            // The service has drained: the run's bookkeeping is complete.
            let keys = harness.keys
            #expect(try await harness.redis.send("HGET", keys.run(runID), "status").string == "done")
            #expect(try await harness.redis.send("HGET", keys.run(runID), RunRecord.Field.outcome).string == "completed")
            #expect(try await harness.redis.send("EXISTS", "\(keys.run(runID)):lease").int == 0)
            #expect(try await harness.redis.send("XLEN", keys.runQueue).int == 0)
            let stored = try await harness.redis.send("LRANGE", keys.threadConversation(threadID), 0, -1).array?.compactMap(\.string) ?? []
            let turns = try stored.map { try JSONDecoder().decode(ConversationTurn.self, from: Data($0.utf8)) }
            #expect(
                turns == [ConversationTurn(role: .user, content: "what is (17*3)+4?"), ConversationTurn(role: .assistant, content: "(17*3)+4 = 55")]
            )
            await harness.redis.close()
        }
    }

    @Test("a later run on the thread sees the conversation")
    func conversationMemory() async throws {
        try await withRedisServer { server in
            // One run at a time: the second starts after the first's bookkeeping.
            let harness = try Harness(server: server, concurrency: 1)
            let threadID = Identifier.make("thread")
            try await harness.enqueue("what is 6×7?", threadID: threadID)
            let second = try await harness.enqueue("what did I ask before?", threadID: threadID)
            let events = try await harness.whileRunning {
                try await harness.events(of: second, threadID: threadID)
            }
            #expect(Self.violations(events) == [])
            let report = events.compactMap { if case .finalReport(let body) = $0.payload { body.report } else { nil } }
            #expect(report == ["Before this, you asked: “what is 6×7?”"])
            await harness.redis.close()
        }
    }

    @Test("a cancellation published on the cancel channel ends the run promptly, the tool in flight cancelled")
    func cancelsARun() async throws {
        try await withRedisServer { server in
            let harness = try Harness(server: server)
            let threadID = Identifier.make("thread")
            let runID = try await harness.enqueue("wait 60 seconds", threadID: threadID)
            let events = try await harness.whileRunning {
                var events = try await harness.events(of: runID, threadID: threadID) { $0.type == .toolExecuting }
                // As a gateway does: mark the run cancelled, then tell the workers.
                _ = try await harness.redis.send("SET", harness.keys.runCancelled(runID), "1", "EX", 3600)
                _ = try await harness.redis.send("PUBLISH", harness.keys.cancelChannel, runID)
                events += try await harness.events(of: runID, threadID: threadID)
                return events
            }
            #expect(Self.violations(events) == [])
            let tools = events.compactMap { if case .toolCompleted(let body) = $0.payload { body.status } else { nil } }
            #expect(tools == [.cancelled])
            guard case .agentCompleted(let end)? = events.last?.payload else {
                Issue.record("the run did not end with agent_completed")
                return
            }
            #expect(end.status == .cancelled)
            #expect(try await harness.redis.send("HGET", harness.keys.run(runID), RunRecord.Field.outcome).string == "cancelled")
            await harness.redis.close()
        }
    }

    @Test("a run cancelled while queued is announced with agent_started and agent_completed cancelled only")
    func skipsACancelledRun() async throws {
        try await withRedisServer { server in
            let harness = try Harness(server: server)
            let threadID = Identifier.make("thread")
            let runID = Identifier.make("run")
            _ = try await harness.redis.send("SET", harness.keys.runCancelled(runID), "1", "EX", 3600)
            try await harness.enqueue("what is 2+2", threadID: threadID, runID: runID)
            let events = try await harness.whileRunning {
                try await harness.events(of: runID, threadID: threadID)
            }
            #expect(Self.violations(events) == [])
            #expect(events.map(\.type) == [.agentStarted, .agentCompleted])
            await harness.redis.close()
        }
    }

    @Test("a shutdown past its grace period cancels the runs it holds; they end with a retryable agent_error")
    func shutdownCancelsAfterGrace() async throws {
        try await withRedisServer { server in
            let harness = try Harness(server: server, grace: .zero)
            let threadID = Identifier.make("thread")
            let runID = try await harness.enqueue("wait 60 seconds", threadID: threadID)
            let service = harness.service
            let running = harness.start()
            var events = try await harness.events(of: runID, threadID: threadID) { $0.type == .toolExecuting }
            await service.beginShutdown()
            events += try await harness.events(of: runID, threadID: threadID)
            try await running.value
            #expect(Self.violations(events) == [])
            guard case .agentError(let end)? = events.last?.payload else {
                Issue.record("the run did not end with agent_error")
                return
            }
            #expect(end.code == .cancelled)
            #expect(end.retryable)
            await harness.redis.close()
        }
    }

    @Test("the worker rides out a Redis restart and takes runs again")
    func survivesRedisRestart() async throws {
        try await withRedisServer { server in
            let harness = try Harness(server: server)
            let threadID = Identifier.make("thread")
            let events = try await harness.whileRunning {
                let first = try await harness.enqueue("what is 2+2", threadID: threadID)
                _ = try await harness.events(of: first, threadID: threadID)
                // Redis comes back empty: the queue's consumer group is gone and must be made again.
                try await server.restart()
                // The test's own client may still hold a connection to the old server: an XADD sent on it fails as
                // "may or may not have run". PING (safe to repeat) until the client is on the new server.
                try await waitUntil("the test's client reconnected") { (try? await harness.redis.send("PING")) != nil }
                let second = try await harness.enqueue("what is 3*3", threadID: threadID)
                return try await harness.events(of: second, threadID: threadID)
            }
            #expect(Self.violations(events) == [])
            let report = events.compactMap { if case .finalReport(let body) = $0.payload { body.report } else { nil } }
            #expect(report == ["3*3 = 9"])
            await harness.redis.close()
        }
    }
}
