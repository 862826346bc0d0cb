import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Redis
import Testing

@testable import Gateway

@Suite("Runs", .timeLimit(.minutes(2)))
struct RunTests {
    @Test("user_message answers run_queued and the run is on the queue stream, recorded and marking its thread busy")
    func userMessageQueuesRun() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "run_queued") {
                let client = try await harness.connect()
                let queued = try await client.startRun("what is (17*3)+4?", clientMessageID: "m-1")
                #expect(queued.clientMessageID == "m-1")
                #expect(queued.threadID.hasPrefix("thr_"))
                #expect(queued.runID.hasPrefix("run_"))

                let entries = try await harness.redis.xrange(harness.keys.runQueue)
                #expect(entries.count == 1)
                let json = try #require(entries.first?.string(RunRequest.streamField))
                let request = try RunRequest.decode(json)
                #expect(request.runID == queued.runID)
                #expect(request.threadID == queued.threadID)
                #expect(request.userID == client.userID)
                #expect(request.content == "what is (17*3)+4?")
                #expect(request.clientMessageID == "m-1")

                let redis = harness.redis
                let keys = harness.keys
                #expect(try await redis.send("HGET", keys.thread(queued.threadID), "owner").string == client.userID)
                #expect(try await redis.send("GET", keys.threadActiveRun(queued.threadID)).string == queued.runID)
                let run = try await redis.send("HMGET", keys.run(queued.runID), "thread_id", "user_id", "status", "created_at").array ?? []
                #expect(run.map(\.string) == [queued.threadID, client.userID, "queued", request.enqueuedAt])
                for key in [keys.threadActiveRun(queued.threadID), keys.run(queued.runID)] {
                    let ttl = try await redis.send("TTL", key).int ?? -1
                    #expect(ttl > 0 && ttl <= harness.settings.common.historyTTLSeconds, "\(key)")
                }
                // The thread's record, and its place in its owner's list, last as long as its messages.
                for key in [keys.thread(queued.threadID), keys.userThreads(client.userID)] {
                    let ttl = try await redis.send("TTL", key).int ?? -1
                    let retention = harness.settings.common.threadRetentionSeconds
                    #expect(ttl > retention - 60 && ttl <= retention, "\(key)")
                }
                let record = try await redis.send("HMGET", keys.thread(queued.threadID), "title", "created_at").array?.map(\.string) ?? []
                #expect(record == ["what is (17*3)+4?", request.enqueuedAt])

                // A second message on the same thread once the relay freed it.
                _ = try await redis.send("DEL", keys.threadActiveRun(queued.threadID))
                let next = try await client.startRun("and now?", threadID: queued.threadID)
                #expect(next.threadID == queued.threadID)
                #expect(try await harness.redis.xrange(harness.keys.runQueue).count == 2)
                #expect(harness.metric("herald_gateway_runs_queued_total") == 2)
                await client.close()
            }
        }
    }

    @Test("a second message while a run is active gets thread_busy with the active run id")
    func threadBusy() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "thread_busy") {
                let client = try await harness.connect()
                let first = try await client.startRun("wait 30 seconds")
                do {
                    _ = try await client.startRun("again", threadID: first.threadID, clientMessageID: "m-2")
                    Issue.record("the second run was queued")
                } catch let error as ProtocolError {
                    #expect(error.code == .threadBusy)
                    #expect(error.ref == first.runID)
                }
                #expect(try await harness.redis.xrange(harness.keys.runQueue).count == 1)
                // The connection keeps working.
                try await client.send(.ping)
                _ = try await client.firstMatch { frame -> Bool? in
                    if case .server(.pong) = frame { return true }
                    return nil
                }
                await client.close()
            }
        }
    }

    @Test("another user's thread is forbidden for user_message, resume and cancel_run; unknown ones are not_found")
    func forbiddenAndNotFound() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "forbidden") {
                let owner = try await harness.connect()
                let run = try await owner.startRun("wait 30 seconds")
                let intruder = try await harness.connect()
                #expect(intruder.userID != owner.userID)

                do {
                    _ = try await intruder.startRun("mine now", threadID: run.threadID)
                    Issue.record("queued a run on someone else's thread")
                } catch let error as ProtocolError {
                    #expect(error.code == .forbidden)
                }
                // startRun only looked at that error frame; consume it before reading the next ones in order.
                #expect(try await intruder.nextError().code == .forbidden)
                try await intruder.send(.resume(.init(threadID: run.threadID, afterSeq: 0)))
                #expect(try await intruder.nextError().code == .forbidden)
                try await intruder.send(.cancelRun(runID: run.runID))
                #expect(try await intruder.nextError().code == .forbidden)

                try await intruder.send(.resume(.init(threadID: "thr_nothing_here", afterSeq: 0)))
                let missingThread = try await intruder.nextError()
                #expect(missingThread.code == .notFound)
                #expect(missingThread.ref == "thr_nothing_here")
                try await intruder.send(.cancelRun(runID: "run_nothing_here"))
                #expect(try await intruder.nextError().code == .notFound)

                // Nothing of the owner's thread reached the intruder, and nothing was cancelled.
                _ = try await harness.appendEvent(thread: run.threadID, run: run.runID, epoch: "ep_1")
                #expect(try await owner.nextSeqs(1, thread: run.threadID) == [1])
                try await intruder.send(.ping)
                _ = try await intruder.next("pong") { frame -> Bool? in
                    if case .server(.pong) = frame { return true }
                    if case .event = frame { Issue.record("the intruder received an event") }
                    return nil
                }
                #expect(try await harness.redis.send("EXISTS", harness.keys.runCancelled(run.runID)).int == 0)
                #expect(try await harness.redis.xrange(harness.keys.runQueue).count == 1)
                await owner.close()
                await intruder.close()
            }
        }
    }

    @Test("cancel_run flags an active run and tells the workers; a finished run is left alone")
    func cancelRun() async throws {
        try await GatewayHarness.with { harness in
            let subscriber = RedisSubscriber(configuration: harness.settings.common.redis, logger: GatewayHarness.logger)
            let subscriberTask = Task { try await subscriber.run() }
            defer { subscriberTask.cancel() }
            try await within(60, "cancel") {
                let announcements = try await subscriber.subscribe(harness.keys.cancelChannel)
                let client = try await harness.connect()
                let run = try await client.startRun("wait 30 seconds")
                try await client.send(.cancelRun(runID: run.runID))
                var iterator = announcements.makeAsyncIterator()
                var announced: String?
                while announced == nil, let event = try await iterator.next() {
                    if case .message(let text) = event { announced = String(buffer: text) }
                }
                #expect(announced == run.runID)
                let ttl = try await harness.redis.send("TTL", harness.keys.runCancelled(run.runID)).int ?? -1
                #expect(ttl > 0)

                // The relay published the run's end: cancelling now changes nothing and is no error.
                _ = try await harness.redis.send("DEL", harness.keys.threadActiveRun(run.threadID), harness.keys.runCancelled(run.runID))
                try await client.send(.cancelRun(runID: run.runID))
                try await client.send(.ping)
                _ = try await client.next("pong") { frame -> Bool? in
                    if case .server(.pong) = frame { return true }
                    if case .server(.error(let error)) = frame { Issue.record("unexpected error \(error)") }
                    return nil
                }
                #expect(try await harness.redis.send("EXISTS", harness.keys.runCancelled(run.runID)).int == 0)
                await announcements.unsubscribe()
                await client.close()
            }
        }
    }
}
