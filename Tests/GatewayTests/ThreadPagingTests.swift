import Foundation
import HeraldCore
import HeraldProtocol
import NIOCore
import Testing

@testable import Gateway

/// The threads API's pure parts: cursors, how runs' records become messages and pages, and rename bodies.
@Suite struct ThreadPagingTests {
    @Test func threadListCursorsRoundTripAndRefuseAnythingElse() {
        let cursor = ThreadListCursor(score: 1_765_000_000_123, threadID: "thr_abc")
        #expect(ThreadListCursor(cursor.text) == cursor)
        for text in ["", "123", ".thr_a", "x.thr_a", "-5.thr_a", "12.", "12.thr a", "12.thr_a:b", "99999999999999999999.thr_a"] {
            #expect(ThreadListCursor(text) == nil, "\(text)")
        }
        // After the cursor: older, or as old with a smaller id (the list's order is score, then id, descending).
        #expect(cursor.precedes(.init(score: 1_765_000_000_122, threadID: "thr_zzz")))
        #expect(cursor.precedes(.init(score: 1_765_000_000_123, threadID: "thr_abb")))
        #expect(!cursor.precedes(.init(score: 1_765_000_000_123, threadID: "thr_abc")))
        #expect(!cursor.precedes(.init(score: 1_765_000_000_124, threadID: "thr_aaa")))
    }

    @Test func messagePositionsRoundTripAndOrderUserBeforeAssistant() {
        let position = MessagePosition(run: 12, part: .assistant)
        #expect(MessagePosition(position.text) == position)
        for text in ["", "1", "1.2", "-1.0", "a.0", "1.0.0", "1.", ".1"] {
            #expect(MessagePosition(text) == nil, "\(text)")
        }
        #expect(MessagePosition(run: 3, part: .user) < MessagePosition(run: 3, part: .assistant))
        #expect(MessagePosition(run: 3, part: .assistant) < MessagePosition(run: 4, part: .user))
    }

    private static func record(
        _ run: Int,
        user: String? = "question \(0)",
        ended: Bool = true,
        calls: [(call: String, done: String)] = []
    ) -> RunMessageParts {
        let userPart = MessageRecord.UserPart(content: user, clientMessageID: nil, createdAt: "2026-12-07T10:00:0\(run % 10).000Z")
        let end = MessageRecord.EndPart(status: "complete", completedAt: "2026-12-07T10:01:00.000Z")
        return RunMessageParts(
            runID: "run_\(run)",
            user: MessageRecord.encode(userPart),
            text: ended ? "answer \(run)" : "",
            end: ended ? MessageRecord.encode(end) : "",
            calls: calls
        )
    }

    @Test func aRunIsTheUsersMessageThenOneAssistantMessageWithItsToolCalls() {
        let call = MessageRecord.ToolCallPart(toolCallID: "call_1", toolName: "calculator", arguments: ["expression": "1+1"])
        let done = MessageRecord.ToolDonePart(status: "success", result: ["value": 2], error: nil)
        let pending = MessageRecord.ToolCallPart(toolCallID: "call_2", toolName: "wait", arguments: ["seconds": 5])
        let record = Self.record(0, calls: [(MessageRecord.encode(call), MessageRecord.encode(done)), (MessageRecord.encode(pending), "")])
        let messages = MessageAssembly.messages(of: record, liveText: "ignored").map(\.1)
        #expect(messages.map(\.role) == [.user, .assistant])
        #expect(messages[0].content == "question 0" && messages[0].status == nil && messages[0].toolCalls == nil)
        #expect(messages[1].content == "answer 0" && messages[1].status == .complete)
        #expect(messages[1].toolCalls?.map(\.status) == ["success", "running"])
        #expect(messages[1].toolCalls?.first?.result == ["value": 2])
        #expect(messages.map(\.messageID) == ["run_0.user", "run_0.assistant"])
    }

    @Test func theNewestRunStreamsItsLiveTextAndARunWithoutAUserMessageHasOnlyTheAnswer() {
        let records = [Self.record(0, user: nil), Self.record(1, ended: false)]
        let page = MessageAssembly.page(records, firstRun: 0, before: nil, limit: 10, liveText: "so far", runCount: 2)
        #expect(page.messages.map(\.role) == [.assistant, .user, .assistant])
        #expect(page.messages.last?.status == .streaming)
        #expect(page.messages.last?.content == "so far")
        #expect(page.nextCursor == nil)
    }

    @Test func pagingBackFromTheNewestGivesEveryMessageOnceInOrder() {
        // 7 runs, one without a user message; pages of 3 split runs' pairs.
        let records = (0..<7).map { Self.record($0, user: $0 == 2 ? nil : "question \($0)") }
        var pages: [[ThreadMessage]] = []
        var before: MessagePosition?
        repeat {
            // As the store reads them: the runs that can hold the page, at most `limit` back from the cursor.
            let lastRun = before.map { $0.part == .user ? $0.run - 1 : $0.run } ?? 6
            let firstRun = max(0, lastRun - 3 + 1)
            let page = MessageAssembly.page(
                Array(records[firstRun...lastRun]),
                firstRun: firstRun,
                before: before,
                limit: 3,
                liveText: "",
                runCount: 7
            )
            #expect(page.messages.count <= 3)
            pages.append(page.messages)
            before = page.nextCursor.flatMap(MessagePosition.init)
        } while before != nil
        let all = pages.reversed().flatMap { $0 }
        #expect(all.count == 13)
        #expect(all.map(\.messageID) == (0..<7).flatMap { $0 == 2 ? ["run_2.assistant"] : ["run_\($0).user", "run_\($0).assistant"] })
    }

    @Test func aRenameBodyIsOneTitleOfOneTo200Characters() throws {
        #expect(try ThreadRoutes.title(fromJSON: ByteBuffer(string: #"{"title":"  Trip to Lisbon \n"}"#)) == "Trip to Lisbon")
        #expect(try ThreadRoutes.title(fromJSON: ByteBuffer(string: #"{"title":"\#(String(repeating: "é", count: 200))"}"#)).count == 200)
        for body in [
            "", "null", "[]", "{}", #"{"title":null}"#, #"{"title":""}"#, #"{"title":" "}"#, #"{"title":1}"#, #"{"title":"a","x":1}"#,
            #"{"title":"\#(String(repeating: "é", count: 201))"}"#,
        ] {
            #expect(throws: ThreadRoutes.Failure.self, "\(body)") { try ThreadRoutes.title(fromJSON: ByteBuffer(string: body)) }
        }
    }

    @Test func aNewThreadIsTitledByTheFirstLineOfItsFirstMessage() {
        #expect(ThreadRecord.title(fromFirstMessage: "  plan my trip\nwith details") == "plan my trip")
        #expect(ThreadRecord.title(fromFirstMessage: "\n\n") == "New chat")
        #expect(ThreadRecord.title(fromFirstMessage: String(repeating: "a", count: 100)).count == 80)
        #expect(ThreadRecord.preview(of: "a\n\n  b") == "a b")
        #expect(ThreadStore.repairedPrefix("abc\u{FFFD}") == "abc")
    }
}

/// A clock a test moves by hand.
private final class ManualClock: Clock, @unchecked Sendable {
    typealias Instant = ContinuousClock.Instant
    // Only the test's task moves it, between calls.
    var now: ContinuousClock.Instant = .now
    var minimumResolution: Duration { .nanoseconds(1) }
    func sleep(until deadline: ContinuousClock.Instant, tolerance: Duration?) async throws {}
    func advance(_ duration: Duration) { now = now.advanced(by: duration) }
}

@Suite struct UserRateLimiterTests {
    @Test func eachUserHasABurstThenTheRate() async {
        let clock = ManualClock()
        let limiter = UserRateLimiter(ratePerSecond: 2, burst: 3, clock: clock)
        var taken: [Bool] = []
        for _ in 0..<4 { taken.append(await limiter.take(for: "alice")) }
        #expect(taken == [true, true, true, false])
        // Another user is not affected.
        #expect(await limiter.take(for: "bob"))
        clock.advance(.milliseconds(500))
        #expect(await limiter.take(for: "alice"))
        #expect(await !limiter.take(for: "alice"))
    }

    @Test func idleUsersAreForgottenOnceThereAreMany() async {
        let clock = ManualClock()
        let limiter = UserRateLimiter(ratePerSecond: 10, burst: 10, clock: clock, pruneThreshold: 3)
        for user in ["a", "b", "c"] { _ = await limiter.take(for: user) }
        clock.advance(.seconds(2))
        _ = await limiter.take(for: "d")
        #expect(await limiter.trackedUsers == 1)
    }
}
