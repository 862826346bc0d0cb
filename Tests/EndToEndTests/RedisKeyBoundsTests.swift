import Foundation
import HeraldCore
import HeraldTesting
import Testing

/// Redis holds nothing that grows without bound: every key Herald writes expires, or its shape is one of the
/// documented few whose count does not grow with traffic (docs/architecture.md, "What Redis holds").
@Suite(.timeLimit(.minutes(6)))
struct RedisKeyBoundsTests {
    /// Key shapes that need no expiry, with why their count stays bounded.
    static let unexpiringShapes: [String: String] = [
        "herald:runs": "the run queue: one stream, trimmed to about 100,000 entries",
        "herald:events:#": "one stream per event partition (HERALD_EVENT_PARTITIONS), trimmed as the relay publishes",
        "herald:relay:cursor:#": "one per event partition",
        "herald:relay:members": "the relays alive: a sorted set whose entries past their expiry each relay removes as it renews its own",
        "herald:guest-secret": "one per deployment",
        "herald:deployment:guests": "one per deployment: whether its gateways make guests (GuestModeRisk)",
        "herald:deployment:model": "one per deployment: the model its workers use (GuestModeRisk)",
    ]

    /// A key with its ids replaced by what they are: its shape.
    static func shape(of key: String) -> String {
        var shape = key
        for (pattern, name) in [
            (#"thr_[0-9a-f]+"#, "THREAD"), (#"run_[0-9a-f]+"#, "RUN"), (#"guest_[0-9a-f]+"#, "USER"), (#"(?<=:)[0-9]+(?=$|:)"#, "#"),
        ] {
            shape = shape.replacingOccurrences(of: pattern, with: name, options: .regularExpression)
        }
        return shape
    }

    /// Per shape: how many keys, and how many without an expiry.
    static func census(_ redis: RedisServerProcess) async throws -> [String: (count: Int, unexpiring: Int)] {
        var census: [String: (count: Int, unexpiring: Int)] = [:]
        for (key, ttl) in try await redis.keysWithExpiry() {
            let entry = census[shape(of: key), default: (0, 0)]
            census[shape(of: key)] = (entry.count + 1, entry.unexpiring + (ttl == -1 ? 1 : 0))
        }
        return census
    }

    /// `runs` runs over `users` guests, each with a few threads, all at once.
    static func traffic(_ deployment: HeraldDeployment, users: Int, runsPerUser: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for user in 0..<users {
                group.addTask {
                    let tab = try await deployment.connect()
                    var thread: String?
                    for run in 0..<runsPerUser {
                        // Every third run starts a new thread; a cancelled one now and then.
                        let queued = try await tab.startRun(
                            run % 5 == 4 ? "wait 30 seconds" : "what is \(user)+\(run)?",
                            threadID: run % 3 == 0 ? nil : thread
                        )
                        thread = queued.threadID
                        if run % 5 == 4 {
                            _ = try await tab.firstMatch { frame -> Bool? in
                                if case .event(let event) = frame, event.runID == queued.runID, event.event.type == .toolExecuting { return true }
                                return nil
                            }
                            try await tab.send(.cancelRun(runID: queued.runID))
                        }
                        _ = try await tab.events(untilEndOf: queued.runID)
                    }
                    await tab.close()
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("a few hundred runs leave no key shape without expiry whose count grows with traffic")
    func keysAreBounded() async throws {
        try await withDeployment(workers: 2) { deployment in
            try await Self.traffic(deployment, users: 10, runsPerUser: 10)
            let before = try await Self.census(deployment.redis)
            try await Self.traffic(deployment, users: 10, runsPerUser: 20)
            let after = try await Self.census(deployment.redis)

            let table = after.keys.sorted().map { shape in
                let now = after[shape]!
                return "\(shape): \(before[shape]?.count ?? 0) → \(now.count) keys, \(now.unexpiring) without expiry"
            }.joined(separator: "\n")
            print("Redis key shapes after 100 and 300 runs:\n\(table)")
            for (shape, now) in after where now.unexpiring > 0 {
                #expect(Self.unexpiringShapes[shape] != nil, "keys of shape \(shape) have no expiry and are not documented as bounded\n\(table)")
                let grew = now.count > (before[shape]?.count ?? 0)
                #expect(
                    !grew || Self.unexpiringShapes[shape] == nil || shape.hasPrefix("herald:events:") || shape.hasPrefix("herald:relay:cursor:"),
                    "\(shape) has no expiry and grew with traffic\n\(table)"
                )
            }
            // The run queue's entries of finished runs are gone: it does not grow either.
            let queued = try await deployment.redis.reply(["XLEN", "herald:runs"]).int ?? -1
            #expect(queued == 0)
            // The shapes every run makes are all there, all expiring: the census saw the real thing.
            for shape in [
                "herald:thread:{THREAD}", "herald:thread:{THREAD}:messages", "herald:thread:{THREAD}:runs", "herald:run:RUN",
                "herald:user:{USER}:threads", "herald:thread:{THREAD}:log",
            ] {
                #expect((after[shape]?.count ?? 0) > 0 && after[shape]?.unexpiring == 0, "\(shape): \(String(describing: after[shape]))")
            }
        }
    }
}
