import NIOCore
import Testing

@testable import Gateway

/// Per-thread delivery without a connection: live frames in `seq` order without duplicates, held while a
/// submission or a catch-up runs, gaps and resumes turned into catch-up passes.
@Suite struct ThreadCursorStateMachineTests {
    private static func frame(_ seq: Int, epoch: String = "e1") -> ThreadFrame {
        ThreadFrame(ByteBuffer(string: #"{"type":"token","seq":\#(seq),"epoch":"\#(epoch)"}"#))!
    }

    /// A cursor placed at `lastSeq` in `epoch`, nothing holding it.
    private static func placed(at lastSeq: Int, epoch: String? = "e1") -> ThreadCursor {
        var cursor = ThreadCursor()
        cursor.hold()
        cursor.release(position: (lastSeq, epoch))
        return cursor
    }

    // MARK: Live frames

    @Test func theNextFrameIsSentAndMovesTheCursorAnEarlierOneIsADuplicate() {
        var cursor = Self.placed(at: 3)
        #expect(cursor.receive(Self.frame(4)) == .send)
        #expect(cursor.lastSeq == 4)
        #expect(cursor.receive(Self.frame(4)) == .duplicate)
        #expect(cursor.receive(Self.frame(2)) == .duplicate)
        #expect(cursor.lastSeq == 4)
    }

    @Test func aFrameAfterAGapWaitsAndAsksForACatchUp() {
        var cursor = Self.placed(at: 3)
        #expect(cursor.receive(Self.frame(5)) == .gap)
        #expect(cursor.held.map(\.seq) == [5])
        #expect(cursor.lastSeq == 3)
        #expect(cursor.requestCatchUp() == true)
        #expect(cursor.isHeld)
        // Held now: the next frames wait too, in order.
        #expect(cursor.receive(Self.frame(6)) == .held)
        #expect(cursor.held.map(\.seq) == [5, 6])
    }

    @Test func aNewEpochStartsAtOneAnythingElseInItIsAGap() {
        var cursor = Self.placed(at: 9)
        #expect(cursor.receive(Self.frame(2, epoch: "e2")) == .gap)
        var other = Self.placed(at: 9)
        #expect(other.receive(Self.frame(1, epoch: "e2")) == .send)
        #expect(other.epoch == "e2")
        #expect(other.lastSeq == 1)
    }

    @Test func aCursorWithNoEpochYetTakesTheFramesEpoch() {
        var cursor = Self.placed(at: 0, epoch: nil)
        #expect(cursor.receive(Self.frame(1)) == .send)
        #expect(cursor.epoch == "e1")
    }

    // MARK: Submissions

    @Test func framesWaitUntilEverySubmissionReleasedThenLeaveInOrder() {
        var cursor = ThreadCursor()
        cursor.hold()
        cursor.hold()
        #expect(cursor.receive(Self.frame(1)) == .held)
        #expect(cursor.receive(Self.frame(2)) == .held)
        cursor.release(position: nil)
        #expect(cursor.takeReleasedFrames().isEmpty)
        // The last release places the new watch; the frames come back to be received again.
        cursor.release(position: (0, "e1"))
        #expect(!cursor.isHeld)
        let released = cursor.takeReleasedFrames()
        #expect(released.map(\.seq) == [1, 2])
        #expect(cursor.held.isEmpty)
        var deliveries: [ThreadCursor.Delivery] = []
        for frame in released { deliveries.append(cursor.receive(frame)) }
        #expect(deliveries == [.send, .send])
        #expect(cursor.lastSeq == 2)
    }

    @Test func aReleaseWithoutPositionKeepsTheCursor() {
        var cursor = Self.placed(at: 7)
        cursor.hold()
        cursor.release(position: nil)
        #expect(cursor.lastSeq == 7)
        #expect(cursor.epoch == "e1")
    }

    @Test func droppingHeldFramesEmptiesTheCursor() {
        var cursor = ThreadCursor()
        cursor.hold()
        _ = cursor.receive(Self.frame(1))
        #expect(cursor.dropHeld().map(\.seq) == [1])
        #expect(cursor.held.isEmpty)
    }

    // MARK: Catch-up

    @Test func aCatchUpRunsPassesUntilNoneIsWantedAndOnlyTheFirstRequestStartsThem() {
        var cursor = Self.placed(at: 3)
        #expect(cursor.requestCatchUp() == true)
        #expect(cursor.requestCatchUp() == false)
        #expect(cursor.startPass() == ThreadCursor.Pass(afterSeq: 3, epoch: "e1", answering: false))
        #expect(cursor.catchUp == .running(passWanted: false, resume: nil))
        // A gap seen during the pass wants another.
        #expect(cursor.requestCatchUp() == false)
        #expect(cursor.startPass() == ThreadCursor.Pass(afterSeq: 3, epoch: "e1", answering: false))
        #expect(cursor.startPass() == nil)
        #expect(cursor.isHeld)
        cursor.catchUpEnded()
        #expect(cursor.catchUp == .idle)
        #expect(!cursor.isHeld)
    }

    @Test func aResumeMovesTheCursorAndIsAnsweredByTheNextPass() {
        var cursor = Self.placed(at: 10)
        #expect(cursor.requestResume(afterSeq: 4, epoch: "e0") == true)
        #expect(cursor.startPass() == ThreadCursor.Pass(afterSeq: 4, epoch: "e0", answering: true))
        #expect(cursor.lastSeq == 4)
        #expect(cursor.epoch == "e0")
        // A resume during a running pass does not start another runner; the next pass answers it.
        #expect(cursor.requestResume(afterSeq: 6, epoch: "e1") == false)
        #expect(cursor.startPass() == ThreadCursor.Pass(afterSeq: 6, epoch: "e1", answering: true))
    }

    @Test func aFailedPassIsWantedAgainWithoutAnsweringTheResumeTwice() {
        var cursor = Self.placed(at: 2)
        _ = cursor.requestResume(afterSeq: 1, epoch: "e1")
        #expect(cursor.startPass()?.answering == true)
        cursor.passFailed()
        #expect(cursor.startPass() == ThreadCursor.Pass(afterSeq: 1, epoch: "e1", answering: false))
    }

    @Test func aFailedPassKeepsAResumeThatCameMeanwhile() {
        var cursor = Self.placed(at: 2)
        _ = cursor.requestCatchUp()
        _ = cursor.startPass()
        _ = cursor.requestResume(afterSeq: 0, epoch: nil)
        cursor.passFailed()
        #expect(cursor.startPass() == ThreadCursor.Pass(afterSeq: 0, epoch: nil, answering: true))
    }

    @Test func aPassWithNothingWantedAndAFailureWithNoPassChangeNothing() {
        var cursor = Self.placed(at: 2)
        #expect(cursor.startPass() == nil)
        cursor.passFailed()
        #expect(cursor.catchUp == .idle)
    }

    @Test func replayedFramesPastTheCursorAreSentAndTheEndTakesHistorysPosition() {
        var cursor = Self.placed(at: 2)
        #expect(cursor.replay(Self.frame(2)) == false)
        #expect(cursor.replay(Self.frame(3)) == true)
        #expect(cursor.lastSeq == 3)
        cursor.replayEnded(epoch: "e1", lastSeq: 5)
        #expect(cursor.lastSeq == 5)
        cursor.replayEnded(epoch: "", lastSeq: 4)
        #expect(cursor.lastSeq == 5)
        #expect(cursor.epoch == "e1")
    }

    @Test func aResetStartsOverInHistorysEpoch() {
        var cursor = Self.placed(at: 8)
        cursor.restart(inEpoch: "e2")
        #expect(cursor.lastSeq == 0)
        #expect(cursor.epoch == "e2")
        #expect(cursor.replay(Self.frame(1, epoch: "e2")) == true)
    }
}
