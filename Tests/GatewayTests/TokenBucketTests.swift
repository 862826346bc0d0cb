import Testing

@testable import Gateway

@Suite("Token bucket")
struct TokenBucketTests {
    /// A point in time the test sets by hand.
    struct Instant: InstantProtocol, Sendable {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    static let start = Instant(offset: .seconds(1000))

    /// Whether each message, sent at `start` plus its offset in milliseconds, got a token.
    private func outcomes(_ bucket: inout TokenBucket<Instant>, atMilliseconds offsets: [Int]) -> [Bool] {
        offsets.map { bucket.take(at: Self.start.advanced(by: .milliseconds($0))) }
    }

    @Test("a full bucket lets a burst through at once, then refuses")
    func burst() {
        var bucket = TokenBucket(ratePerSecond: 2, burst: 5, now: Self.start)
        let taken = outcomes(&bucket, atMilliseconds: [0, 0, 0, 0, 0, 0, 499])
        #expect(taken == [true, true, true, true, true, false, false])
    }

    @Test("tokens come back at the rate, fractions included")
    func refill() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 3, now: Self.start)
        // 10 a second: one every 100 ms, and two halves make one. At 450 ms, two and a half tokens: two messages, not three.
        let taken = outcomes(&bucket, atMilliseconds: [0, 0, 0, 50, 100, 150, 200, 450, 450, 450])
        #expect(taken == [true, true, true, false, true, false, true, true, true, false])
    }

    @Test("a long pause refills only up to the burst")
    func capped() {
        var bucket = TokenBucket(ratePerSecond: 5, burst: 4, now: Self.start)
        let taken = outcomes(&bucket, atMilliseconds: [0, 0, 0, 0] + Array(repeating: 3_600_000, count: 10))
        #expect(taken.filter { $0 }.count == 8)
        #expect(Array(taken.suffix(6)) == Array(repeating: false, count: 6))
        #expect(bucket.tokens < 1)
    }

    @Test("a sender keeping exactly to the rate is never refused; one at twice the rate loses every second message")
    func steady() {
        var bucket = TokenBucket(ratePerSecond: 4, burst: 1, now: Self.start)
        let atRate = outcomes(&bucket, atMilliseconds: (0..<100).map { 250 * $0 })
        #expect(atRate.allSatisfy { $0 })
        let twice = outcomes(&bucket, atMilliseconds: (1...100).map { 25_000 + 125 * $0 })
        #expect(twice.filter { !$0 }.count == 50)
    }

    @Test("a clock that steps back adds nothing and takes nothing")
    func backwards() {
        var bucket = TokenBucket(ratePerSecond: 1, burst: 2, now: Self.start)
        let taken = outcomes(&bucket, atMilliseconds: [0, 0, -30_000, 1000, 1000])
        #expect(taken == [true, true, false, true, false])
    }
}
