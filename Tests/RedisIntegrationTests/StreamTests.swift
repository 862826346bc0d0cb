import HeraldTesting
import NIOConcurrencyHelpers
import NIOCore
import Redis
import Testing

@Suite("Streams", .timeLimit(.minutes(1)))
struct StreamTests {
    @Test func addRangeReadAcknowledge() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await client.xgroupCreate("jobs", group: "workers", startID: "0")
                try await client.xgroupCreate("jobs", group: "workers", startID: "0")

                let first = try await client.xadd("jobs", fields: [("kind", "email"), ("body", RedisArgument([0, 1, 2]))])
                let second = try await client.xadd("jobs", id: "9999999999999-0", fields: [("kind", "sms")])
                #expect(second == "9999999999999-0")

                let range = try await client.xrange("jobs")
                #expect(range.map(\.id) == [first, second])
                #expect(range[0].string("kind") == "email")
                #expect(range[0]["body"] == ByteBuffer(bytes: [0, 1, 2]))
                #expect(range[0]["missing"] == nil)
                #expect(try await client.xrange("jobs", start: second, count: 5).map(\.id) == [second])

                let read = try await client.xreadgroup(group: "workers", consumer: "w1", streams: [(key: "jobs", id: ">")], count: 10)
                #expect(read.count == 1)
                #expect(read[0].key == "jobs")
                #expect(read[0].entries.map(\.id) == [first, second])
                #expect(try await client.xreadgroup(group: "workers", consumer: "w1", streams: [(key: "jobs", id: ">")]).isEmpty)

                #expect(try await client.xack("jobs", group: "workers", ids: [first]) == 1)
                #expect(try await client.xack("jobs", group: "workers", ids: [first]) == 0)
            }
        }
    }

    @Test func maxLengthTrimsApproximately() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                let commands: [[RedisArgument]] = (0..<1000).map { ["XADD", "capped", "MAXLEN", "~", "100", "*", "n", RedisArgument($0)] }
                _ = try await client.pipeline(commands)
                try await client.xadd("capped", maxLength: 100, fields: [("n", "last")])
                let length = try await client.send("XLEN", "capped").int ?? 0
                #expect(length >= 100 && length < 1000)
            }
        }
    }

    @Test func autoclaimTakesOverAndReportsDeletedEntries() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await client.xgroupCreate("runs", group: "g", startID: "$", makeStream: true)
                let kept = try await client.xadd("runs", fields: [("run", "a")])
                let deleted = try await client.xadd("runs", fields: [("run", "b")])
                _ = try await client.xreadgroup(group: "g", consumer: "dead", streams: [(key: "runs", id: ">")])
                _ = try await client.send("XDEL", "runs", deleted)

                let claimed = try await client.xautoclaim("runs", group: "g", consumer: "alive", minIdle: .zero, count: 10)
                #expect(claimed.nextStart == "0-0")
                #expect(claimed.entries.map(\.id) == [kept])
                #expect(claimed.entries.first?.string("run") == "a")
                #expect(claimed.deletedIDs == [deleted])

                let pending = try await client.xreadgroup(group: "g", consumer: "alive", streams: [(key: "runs", id: "0")])
                #expect(pending.first?.entries.map(\.id) == [kept])
            }
        }
    }

    @Test func readWithoutAGroupReturnsWhatFollowsAnID() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                #expect(try await client.xread(streams: [(key: "log", id: "0-0")], count: 10).isEmpty)
                let ids = [
                    try await client.xadd("log", fields: [("n", "1")]), try await client.xadd("log", fields: [("n", "2")]),
                    try await client.xadd("log", fields: [("n", "3")]),
                ]
                let all = try await client.xread(streams: [(key: "log", id: "0-0")], count: 10)
                #expect(all.first?.key == "log")
                #expect(all.first?.entries.map(\.id) == ids)
                let after = try await client.xread(streams: [(key: "log", id: ids[0])], count: 1)
                #expect(after.first?.entries.map { $0.string("n") } == ["2"])
                // Reading the same id again returns the same entries: no group, nothing consumed.
                #expect(try await client.xread(streams: [(key: "log", id: ids[0])], count: 1).first?.entries.map(\.id) == [ids[1]])
                // A blocking read after the last entry waits for the next one.
                let waiting = Task { try await client.xread(streams: [(key: "log", id: ids[2])], block: .zero) }
                try await waitUntil("the read blocks") { try await info(client, "blocked_clients") == 1 }
                let fourth = try await client.xadd("log", fields: [("n", "4")])
                #expect(try await waiting.value.first?.entries.map(\.id) == [fourth])
            }
        }
    }

    @Test func blockingReadDoesNotStallOtherCommands() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await client.xgroupCreate("events", group: "relay")
                let finished = NIOLockedValueBox(false)
                let reader = Task {
                    defer { finished.withLockedValue { $0 = true } }
                    return try await client.xreadgroup(
                        group: "relay",
                        consumer: "r1",
                        streams: [(key: "events", id: ">")],
                        block: .zero  // until an entry comes: how long the INCRs take must not matter
                    )
                }
                try await waitUntil("the read blocks") { try await info(client, "blocked_clients") == 1 }

                let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<100 {
                        group.addTask { try await client.send("INCR", "other").decode() }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(counts.sorted() == Array(1...100))
                #expect(!finished.withLockedValue { $0 })

                let id = try await client.xadd("events", fields: [("seq", "1")])
                let read = try await reader.value
                #expect(read.first?.entries.map(\.id) == [id])
                #expect(read.first?.entries.first?.string("seq") == "1")

                let nothing = try await client.xreadgroup(
                    group: "relay",
                    consumer: "r1",
                    streams: [(key: "events", id: ">")],
                    block: .milliseconds(50)
                )
                #expect(nothing.isEmpty)
            }
        }
    }

    @Test func cancellingABlockingReadEndsItAtOnce() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await client.xgroupCreate("quiet", group: "g")
                let reader = Task {
                    try await client.xreadgroup(group: "g", consumer: "c", streams: [(key: "quiet", id: ">")], block: .zero)
                }
                try await waitUntil("the read blocks") { try await info(client, "blocked_clients") == 1 }
                reader.cancel()
                await #expect(throws: CancellationError.self) { _ = try await reader.value }
                try await waitUntil("the blocked connection is closed") { try await info(client, "blocked_clients") == 0 }

                // The client is unaffected, and dedicated connections are still available.
                try await client.ping()
                let echoed = try await client.withDedicatedConnection { try await $0.send("ECHO", "dedicated").string }
                #expect(echoed == "dedicated")
            }
        }
    }
}
