import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Redis
import Testing

@testable import Gateway

@Suite("Fan-out and resume", .timeLimit(.minutes(2)))
struct ResumeTests {
    /// A thread owned by a fresh guest, with the guest's token so more tabs of the same user can connect.
    private func ownedThread(_ harness: GatewayHarness) async throws -> (owner: ChatTestClient, token: String, run: ServerMessage.RunQueued) {
        let owner = try await harness.connect()
        let run = try await owner.startRun("wait 60 seconds")
        return (owner, try #require(owner.established.guestToken), run)
    }

    @Test("every watching connection gets each frame once, in order, as the exact text the relay published")
    func liveFanout() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "fan-out") {
                let (first, token, run) = try await ownedThread(harness)
                let second = try await harness.connect(token: token)
                try await second.send(.resume(.init(threadID: run.threadID, afterSeq: 0)))
                let resumed = try await second.nextResumed()
                #expect(resumed == .init(threadID: run.threadID, epoch: "", recovered: true, replayed: 0, lastSeq: 0))
                #expect(await harness.gateway.watchedThreadCount == 1)

                // Published as the relay does: the frames of one script call in one channel message.
                for batch in [1...1, 2...6, 7...20] {
                    try await harness.appendEvents(thread: run.threadID, run: run.runID, epoch: "ep_a", texts: batch.map { "w\($0) " })
                }
                #expect(try await first.nextSeqs(20, thread: run.threadID) == Array(1...20))
                #expect(try await second.nextSeqs(20, thread: run.threadID) == Array(1...20))

                let history = try await harness.historyTexts(thread: run.threadID)
                for client in [first, second] {
                    let texts = await client.received.filter { $0.hasPrefix(#"{"seq":"#) }
                    #expect(texts == (1...20).map { history[$0] ?? "" })
                }
                #expect(harness.metric("herald_gateway_frames_sent_total") == 40)

                await second.close()
                #expect(await harness.gateway.watchedThreadCount == 1)
                await first.close()
                try await waitUntil("the thread is unsubscribed") { await harness.gateway.watchedThreadCount == 0 }
            }
        }
    }

    @Test("resume replays what history holds after after_seq, then live frames, with no gap and no duplicate while the relay keeps publishing")
    func resumeWhilePublishing() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "resume under load") {
                let (owner, token, run) = try await ownedThread(harness)
                for _ in 1...50 {
                    try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_live")
                }
                let last = 400
                let publisher = Task {
                    for _ in 51...last {
                        try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_live")
                        if Bool.random() { try await Task.sleep(for: .microseconds(Int.random(in: 0...1500))) }
                    }
                }
                // Several tabs resume at different moments and from different points while frames keep coming.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for tab in 0..<6 {
                        group.addTask {
                            try await Task.sleep(for: .milliseconds(tab * 40))
                            let client = try await harness.connect(token: token)
                            let current = try await harness.redis.send("HGET", harness.keys.threadLogState(run.threadID), "seq").int ?? 0
                            let after = tab == 0 ? 0 : Int.random(in: max(0, current - 60)...current)
                            try await client.send(
                                .resume(.init(threadID: run.threadID, afterSeq: after, epoch: tab.isMultiple(of: 2) ? "ep_live" : nil))
                            )
                            var seqs: [Int] = []
                            var replayedBeforeResumed: Int?
                            while seqs.last != last {
                                switch try await client.next() {
                                case .event(let frame):
                                    #expect(frame.threadID == run.threadID)
                                    #expect(frame.epoch == "ep_live")
                                    seqs.append(frame.seq)
                                case .server(.resumed(let resumed)):
                                    #expect(resumed.recovered)
                                    #expect(resumed.epoch == "ep_live")
                                    #expect(resumed.lastSeq >= after)
                                    replayedBeforeResumed = seqs.count
                                    #expect(resumed.replayed == seqs.count)
                                case let other:
                                    Issue.record("unexpected frame \(other)")
                                }
                            }
                            #expect(seqs == Array((after + 1)...last), "tab \(tab) resumed after \(after)")
                            #expect(replayedBeforeResumed != nil)
                            await client.close()
                        }
                    }
                    try await group.waitForAll()
                }
                try await publisher.value
                #expect(try await owner.nextSeqs(last, thread: run.threadID) == Array(1...last))
                await owner.close()
            }
        }
    }

    @Test("resume with another epoch says recovered:false and replays everything history holds")
    func epochChange() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "epoch change") {
                let (owner, token, run) = try await ownedThread(harness)
                for _ in 1...5 {
                    try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_old", publish: false)
                }
                // The log expired and started over in a new epoch.
                _ = try await harness.redis.send("DEL", harness.keys.threadLogState(run.threadID), harness.keys.threadHistory(run.threadID))
                for _ in 1...3 {
                    try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_new", publish: false)
                }
                let tab = try await harness.connect(token: token)
                try await tab.send(.resume(.init(threadID: run.threadID, afterSeq: 5, epoch: "ep_old")))
                #expect(try await tab.nextSeqs(3, thread: run.threadID) == [1, 2, 3])
                let resumed = try await tab.nextResumed()
                #expect(resumed == .init(threadID: run.threadID, epoch: "ep_new", recovered: false, replayed: 3, lastSeq: 3))
                try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_new")
                #expect(try await tab.nextSeqs(1, thread: run.threadID) == [4])

                // A client that claims more than the log has is in another epoch too.
                let other = try await harness.connect(token: token)
                try await other.send(.resume(.init(threadID: run.threadID, afterSeq: 9)))
                #expect(try await other.nextSeqs(4, thread: run.threadID) == [1, 2, 3, 4])
                #expect(try await other.nextResumed().recovered == false)
                for client in [owner, tab, other] { await client.close() }
            }
        }
    }

    @Test("resume says recovered:false when history no longer holds after_seq+1")
    func trimmedHistory() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "trimmed history") {
                let (owner, token, run) = try await ownedThread(harness)
                for _ in 1...25 {
                    try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_t", historySize: 10, publish: false)
                }
                let cases: [(after: Int, recovered: Bool, replayed: [Int])] = [
                    (3, false, Array(16...25)),
                    (14, false, Array(16...25)),
                    (15, true, Array(16...25)),
                    (20, true, Array(21...25)),
                    (25, true, []),
                ]
                for expected in cases {
                    let tab = try await harness.connect(token: token)
                    try await tab.send(.resume(.init(threadID: run.threadID, afterSeq: expected.after, epoch: "ep_t")))
                    let seqs = try await tab.nextSeqs(expected.replayed.count, thread: run.threadID)
                    #expect(seqs == expected.replayed, "after \(expected.after)")
                    let resumed = try await tab.nextResumed()
                    #expect(resumed.recovered == expected.recovered, "after \(expected.after)")
                    #expect(resumed.replayed == expected.replayed.count)
                    #expect(resumed.lastSeq == 25)
                    await tab.close()
                }
                await owner.close()
            }
        }
    }

    @Test("a replay larger than the outbound queue flows at the client's pace instead of closing it as slow")
    func largeReplay() async throws {
        try await GatewayHarness.with(.tuned { $0.outboundQueueBytes = 64 * 1024 }) { harness in
            try await within(60, "large replay") {
                let (owner, token, run) = try await ownedThread(harness)
                let text = String(repeating: "y", count: 2048)
                for _ in 1...300 {
                    try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_big", text: text, publish: false)
                }
                let tab = try await harness.connect(token: token)
                try await tab.send(.resume(.init(threadID: run.threadID, afterSeq: 0)))
                #expect(try await tab.nextSeqs(300, thread: run.threadID) == Array(1...300))
                let resumed = try await tab.nextResumed()
                #expect(resumed.recovered)
                #expect(resumed.replayed == 300)
                #expect(harness.metric("herald_gateway_slow_consumer_disconnects_total") == 0)
                await tab.close()
                await owner.close()
            }
        }
    }

    @Test("when the pub/sub connection is lost and restored, watchers catch up from history without gap or duplicate")
    func pubSubLossCatchUp() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "catch-up after pub/sub loss") {
                let (owner, _, run) = try await ownedThread(harness)
                for _ in 1...5 {
                    try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_p")
                }
                #expect(try await owner.nextSeqs(5, thread: run.threadID) == Array(1...5))
                let catchUpsBefore = harness.metric("herald_gateway_catch_ups_total") ?? 0

                _ = try await harness.redis.send("CLIENT", "KILL", "TYPE", "pubsub")
                // Published while the gateway is not subscribed: pub/sub drops these.
                for _ in 6...10 {
                    try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_p")
                }
                #expect(try await owner.nextSeqs(5, thread: run.threadID) == Array(6...10))
                for _ in 11...15 {
                    try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_p")
                }
                #expect(try await owner.nextSeqs(5, thread: run.threadID) == Array(11...15))
                #expect((harness.metric("herald_gateway_catch_ups_total") ?? 0) > catchUpsBefore)
                await owner.close()
            }
        }
    }

    @Test("a frame that skips a seq makes the connection fill the gap from history")
    func outOfOrderFrameTriggersCatchUp() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "gap fill") {
                let (owner, _, run) = try await ownedThread(harness)
                try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_g")
                #expect(try await owner.nextSeqs(1, thread: run.threadID) == [1])
                // Frames 2 and 3 reach history but not the channel; 4 is published.
                try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_g", publish: false)
                try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_g", publish: false)
                try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_g")
                #expect(try await owner.nextSeqs(3, thread: run.threadID) == [2, 3, 4])
                try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_g")
                #expect(try await owner.nextSeqs(1, thread: run.threadID) == [5])
                await owner.close()
            }
        }
    }
}
