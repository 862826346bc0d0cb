import NIOCore
import Testing

@testable import Gateway

/// The queue between a thread's subscription and its feed: one drain at a time, order kept, bounded.
@Suite struct ThreadFeedInboxTests {
    private static func message(_ text: String) -> ThreadFeedInbox.Item { .message(ByteBuffer(string: text)) }

    @Test func onlyThePushThatFindsNoDrainStartsOneAndTheDrainEndsWhenNothingWaits() {
        var inbox = ThreadFeedInbox(limit: 8)
        do {
            let value = inbox.push(Self.message("a"))
            #expect(value)
        }
        do {
            let value = inbox.push(Self.message("b"))
            #expect(!value)
        }
        do {
            let value = inbox.push(.catchUp(.resubscribed))
            #expect(!value)
        }
        do {
            let taken = inbox.take()
            #expect(taken == [Self.message("a"), Self.message("b"), .catchUp(.resubscribed)])
        }
        // Still draining until a take finds nothing: a push meanwhile joins this drain.
        do {
            let value = inbox.push(Self.message("c"))
            #expect(!value)
        }
        do {
            let taken = inbox.take()
            #expect(taken == [Self.message("c")])
        }
        do {
            let taken = inbox.take()
            #expect(taken == nil)
        }
        // The drain ended: the next push starts another.
        do {
            let value = inbox.push(.ended(generation: 1, error: nil))
            #expect(value)
        }
        do {
            let taken = inbox.take()
            #expect(taken == [.ended(generation: 1, error: nil)])
        }
        do {
            let taken = inbox.take()
            #expect(taken == nil)
        }
    }

    @Test func aFullInboxDropsItsMessagesForOneCatchUpAndKeepsWhatElseWaitsInOrder() {
        var inbox = ThreadFeedInbox(limit: 3)
        _ = inbox.push(Self.message("1"))
        _ = inbox.push(.catchUp(.resubscribed))
        _ = inbox.push(Self.message("2"))
        _ = inbox.push(Self.message("3"))
        // The fourth message finds three waiting.
        do {
            let value = inbox.push(Self.message("4"))
            #expect(!value)
        }
        _ = inbox.push(Self.message("5"))
        do {
            let taken = inbox.take()
            #expect(taken == [.catchUp(.resubscribed), .catchUp(.overflowed), Self.message("4"), Self.message("5")])
        }
        // A take empties the count too: three more fit.
        for text in ["6", "7", "8"] { _ = inbox.push(Self.message(text)) }
        do {
            let taken = inbox.take()
            #expect(taken == [Self.message("6"), Self.message("7"), Self.message("8")])
        }
    }
}
