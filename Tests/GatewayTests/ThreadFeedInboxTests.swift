import Testing

@testable import Gateway

/// The queue between a thread's subscription and its feed for what is not a message: one drain at a time, order kept.
@Suite struct ThreadFeedInboxTests {
    @Test func onlyThePushThatFindsNoDrainStartsOneAndTheDrainEndsWhenNothingWaits() {
        var inbox = ThreadFeedInbox()
        let startsDrain1 = inbox.push(.resubscribed)
        #expect(startsDrain1)
        let startsDrain2 = inbox.push(.ended(generation: 1, error: "gone"))
        #expect(!startsDrain2)
        let taken3 = inbox.take()
        #expect(taken3 == [.resubscribed, .ended(generation: 1, error: "gone")])
        // Still draining until a take finds nothing: a push meanwhile joins this drain.
        let startsDrain4 = inbox.push(.resubscribed)
        #expect(!startsDrain4)
        let taken5 = inbox.take()
        #expect(taken5 == [.resubscribed])
        let taken6 = inbox.take()
        #expect(taken6 == nil)
        // The drain ended: the next push starts another.
        let startsDrain7 = inbox.push(.ended(generation: 2, error: nil))
        #expect(startsDrain7)
        let taken8 = inbox.take()
        #expect(taken8 == [.ended(generation: 2, error: nil)])
        let taken9 = inbox.take()
        #expect(taken9 == nil)
    }
}
