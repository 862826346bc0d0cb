import Testing

@testable import Worker

/// The coalescing rules on a clock the test moves by hand.
@Suite struct PartialResultCoalescerTests {
    private let start = ContinuousClock.now

    private func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    @Test func theFirstDeltaGoesOutAtOnceAndLaterOnesWaitForTheInterval() {
        var coalescer = PartialResultCoalescer(interval: .milliseconds(40))
        #expect(coalescer.receive("Hello", at: at(0)) == .emit("Hello"))
        // Held: the first held delta arms the timer for 40 ms after the last event; the next only joins it.
        #expect(coalescer.receive(" wor", at: at(5)) == .held(dueAt: at(40)))
        #expect(coalescer.receive("ld", at: at(20)) == .held(dueAt: nil))
        #expect(coalescer.due(at: at(39)) == nil)
        #expect(coalescer.due(at: at(40)) == " world")
        #expect(coalescer.pending.isEmpty)
        // Quiet for longer than the interval: the next delta goes at once again.
        #expect(coalescer.receive("!", at: at(100)) == .emit("!"))
    }

    @Test func aFlushSendsWhatIsHeldAndATimerArmedBeforeItFindsNothing() {
        var coalescer = PartialResultCoalescer(interval: .milliseconds(40))
        _ = coalescer.receive("a", at: at(0))
        #expect(coalescer.receive("b", at: at(10)) == .held(dueAt: at(40)))
        #expect(coalescer.flush(at: at(15)) == "b")
        #expect(coalescer.flush(at: at(16)) == nil)
        // Text held after the flush is due 40 ms after it; the earlier timer (due at 40) finds it not due.
        #expect(coalescer.receive("c", at: at(20)) == .held(dueAt: at(55)))
        #expect(coalescer.due(at: at(40)) == nil)
        #expect(coalescer.due(at: at(55)) == "c")
    }

    @Test func zeroIntervalSendsEveryDeltaAsItComes() {
        var coalescer = PartialResultCoalescer(interval: .zero)
        for (index, word) in ["one", " two", " three"].enumerated() {
            #expect(coalescer.receive(word, at: at(index)) == .emit(word))
        }
        #expect(coalescer.flush(at: at(3)) == nil)
    }

    @Test func anEmptyDeltaChangesNothing() {
        var coalescer = PartialResultCoalescer(interval: .milliseconds(40))
        #expect(coalescer.receive("", at: at(0)) == .held(dueAt: nil))
        #expect(coalescer.receive("x", at: at(1)) == .emit("x"))
    }

    @Test func atMostOneEventPerIntervalCarriesEveryDeltaInOrder() {
        // 1,000 one-character deltas, one a millisecond, timers firing when due.
        var coalescer = PartialResultCoalescer(interval: .milliseconds(40))
        var emitted: [(at: Int, text: String)] = []
        var timer: ContinuousClock.Instant?
        for millisecond in 0..<1_000 {
            if let due = timer, due <= at(millisecond) {
                timer = nil
                if let text = coalescer.due(at: at(millisecond)) { emitted.append((millisecond, text)) }
            }
            switch coalescer.receive(String(millisecond % 10), at: at(millisecond)) {
            case .emit(let text): emitted.append((millisecond, text))
            case .held(let due?): timer = due
            case .held(nil): break
            }
        }
        let timed = emitted
        // The end of the answer flushes at once, however soon after the last event.
        if let text = coalescer.flush(at: at(1_000)) { emitted.append((1_000, text)) }
        #expect(emitted.map(\.text).joined() == (0..<1_000).map { String($0 % 10) }.joined())
        #expect(emitted.count <= 1_000 / 40 + 2)
        for (earlier, later) in zip(timed, timed.dropFirst()) {
            #expect(later.at - earlier.at >= 40)
        }
    }
}
