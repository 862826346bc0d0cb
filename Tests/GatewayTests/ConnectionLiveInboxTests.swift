import NIOCore
import Testing

@testable import Gateway

/// The hand-over from thread feeds to a connection: offered without waiting, taken in order by one drain at a time,
/// bounded in bytes with an overflow that closes the connection once.
@Suite struct ConnectionLiveInboxTests {
    private static func frame(_ seq: Int, bytes: Int = 0) -> ThreadFrame {
        let padding = String(repeating: "x", count: bytes)
        return ThreadFrame(ByteBuffer(string: #"{"seq":\#(seq),"epoch":"e","pad":"\#(padding)"}"#))!
    }

    private static func seqs(_ taken: ConnectionLiveInbox.Taken?) -> [String]? {
        guard case .frames(let frames)? = taken else { return nil }
        return frames.map { "\($0.threadID):\($0.frame.seq)" }
    }

    @Test func onlyTheOfferThatFindsNoDrainStartsOneAndOrderIsKeptAcrossThreads() {
        var inbox = ConnectionLiveInbox(limit: 10_000)
        let startsDrain1 = inbox.offer(Self.frame(1), threadID: "a")
        #expect(startsDrain1)
        let startsDrain2 = inbox.offer(Self.frame(1), threadID: "b")
        #expect(!startsDrain2)
        let startsDrain3 = inbox.offer(Self.frame(2), threadID: "a")
        #expect(!startsDrain3)
        let taken4 = inbox.take()
        #expect(Self.seqs(taken4) == ["a:1", "b:1", "a:2"])
        #expect(inbox.bytes == 0)
        // Still draining until a take finds nothing: an offer meanwhile joins this drain.
        let startsDrain5 = inbox.offer(Self.frame(3), threadID: "a")
        #expect(!startsDrain5)
        let taken6 = inbox.take()
        #expect(Self.seqs(taken6) == ["a:3"])
        let taken7 = inbox.take()
        #expect(taken7 == nil)
        let startsDrain8 = inbox.offer(Self.frame(4), threadID: "a")
        #expect(startsDrain8)
    }

    @Test func aFullInboxOverflowsOnceAndTakesNothingMore() {
        let size = Self.frame(1, bytes: 100).byteCount
        var inbox = ConnectionLiveInbox(limit: size * 2)
        let startsDrain9 = inbox.offer(Self.frame(1, bytes: 100), threadID: "a")
        #expect(startsDrain9)
        let startsDrain10 = inbox.offer(Self.frame(2, bytes: 100), threadID: "a")
        #expect(!startsDrain10)
        let startsDrain11 = inbox.offer(Self.frame(3, bytes: 100), threadID: "a")
        #expect(!startsDrain11)
        guard case .overflowed? = inbox.take() else {
            Issue.record("the third frame must overflow the inbox")
            return
        }
        #expect(inbox.bytes == 0)
        let taken12 = inbox.take()
        #expect(taken12 == nil)
        // Closed as a slow consumer: whatever comes later is dropped and starts no drain.
        let startsDrain13 = inbox.offer(Self.frame(4), threadID: "a")
        #expect(!startsDrain13)
        let taken14 = inbox.take()
        #expect(taken14 == nil)
    }

    @Test func oneFrameLargerThanTheLimitStillFitsAnEmptyInbox() {
        var inbox = ConnectionLiveInbox(limit: 10)
        let startsDrain15 = inbox.offer(Self.frame(1, bytes: 500), threadID: "a")
        #expect(startsDrain15)
        let taken16 = inbox.take()
        #expect(Self.seqs(taken16) == ["a:1"])
    }
}
