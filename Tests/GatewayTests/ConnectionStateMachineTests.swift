import NIOCore
import Testing

@testable import Gateway

/// A connection's outbound side without a transport: one batch at a time, the bounded queue (queued and held
/// bytes together), waiting for room, closing, and the end.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = Connection.StateMachine

    private static func text(_ bytes: Int) -> Connection.Outgoing {
        .text(ByteBuffer(repeating: 0x61, count: bytes), isEvent: false, emittedAt: nil)
    }

    @Test func theFirstFrameIsWrittenAtOnceAndTheRestFollowAsOneBatch() {
        var machine = Machine(queueLimit: 100)
        #expect(machine.enqueue(Self.text(10)) == .write([Self.text(10)]))
        #expect(machine.writer == .writing(bytes: 10))
        #expect(machine.enqueue(Self.text(5)) == .none)
        #expect(machine.enqueue(Self.text(6)) == .none)
        #expect(machine.queuedBytes == 11)
        #expect(machine.batchWritten(failed: false) == [Self.text(5), Self.text(6)])
        #expect(machine.queuedBytes == 0)
        #expect(machine.writer == .writing(bytes: 11))
        #expect(machine.batchWritten(failed: false) == nil)
        #expect(machine.writer == .idle)
    }

    @Test func aFullQueueOverflowsButOneLargeFrameAloneDoesNot() {
        var machine = Machine(queueLimit: 100)
        #expect(machine.enqueue(Self.text(150)) == .write([Self.text(150)]))
        #expect(machine.enqueue(Self.text(60)) == .none)
        #expect(machine.enqueue(Self.text(40)) == .none)
        #expect(machine.enqueue(Self.text(1)) == .overflow)
        machine.overflowed()
        #expect(machine.queuedBytes == 0)
        #expect(machine.queue.isEmpty)
    }

    @Test func heldBytesCountAgainstTheQueue() {
        var machine = Machine(queueLimit: 100)
        #expect(machine.heldBytesChanged(by: 80) == false)
        #expect(machine.enqueue(Self.text(30)) == .overflow)
        #expect(machine.heldBytesChanged(by: -80) == false)
        #expect(machine.enqueue(Self.text(30)) == .write([Self.text(30)]))
        // What is on its way to the socket no longer counts; what is queued behind it does.
        #expect(machine.enqueue(Self.text(30)) == .none)
        #expect(machine.heldBytesChanged(by: 70) == false)
        #expect(machine.heldBytesChanged(by: 1) == true)
        // Only growth overflows: releasing frames never does.
        #expect(machine.heldBytesChanged(by: -1) == false)
    }

    @Test func roomIsWhatTheSocketHasNotTakenAtMostHalfTheLimit() {
        var machine = Machine(queueLimit: 100)
        _ = machine.enqueue(Self.text(40))
        #expect(machine.hasRoom)
        _ = machine.enqueue(Self.text(20))
        #expect(!machine.hasRoom)
        // The first batch was taken; the second (20 bytes) is on its way.
        _ = machine.batchWritten(failed: false)
        #expect(machine.hasRoom)
        _ = machine.enqueue(Self.text(31))
        #expect(!machine.hasRoom)
    }

    @Test func closingQueuesTheCloseAfterWhatIsQueuedAndTakesNothingMore() {
        var machine = Machine(queueLimit: 100)
        _ = machine.enqueue(Self.text(10))
        _ = machine.enqueue(Self.text(20))
        #expect(machine.close(code: 4008, reason: "slow") == .closing(write: nil))
        #expect(machine.isClosing)
        #expect(machine.closeCause == Connection.CloseCause(code: 4008, reason: "slow"))
        #expect(machine.hasRoom)
        #expect(machine.enqueue(Self.text(1)) == .none)
        #expect(machine.heldBytesChanged(by: 1_000) == false)
        #expect(machine.close(code: 1000, reason: "again") == .none)
        #expect(machine.batchWritten(failed: false) == [Self.text(20), .close(code: 4008, reason: "slow")])
    }

    @Test func aCloseQueuedBehindABatchCountsItsBytesAndTheBatchTakesThemAll() {
        var machine = Machine(queueLimit: 100)
        _ = machine.enqueue(Self.text(10))
        _ = machine.enqueue(Self.text(20))
        _ = machine.close(code: 4008, reason: "slow")
        // 20 bytes of text and the close frame's 2-byte code and 4-byte reason.
        #expect(machine.queuedBytes == 26)
        _ = machine.batchWritten(failed: false)
        #expect(machine.queuedBytes == 0)
        #expect(machine.writer == .writing(bytes: 26))
        #expect(machine.batchWritten(failed: false) == nil)
        #expect(machine.queuedBytes == 0)
    }

    @Test func aCloseOnAnIdleWriterIsWrittenAtOnce() {
        var machine = Machine(queueLimit: 100)
        #expect(machine.close(code: 1001, reason: "bye") == .closing(write: [.close(code: 1001, reason: "bye")]))
    }

    @Test func aFailedWriteDropsWhatIsQueued() {
        var machine = Machine(queueLimit: 100)
        _ = machine.enqueue(Self.text(10))
        _ = machine.enqueue(Self.text(20))
        #expect(machine.batchWritten(failed: true) == nil)
        #expect(machine.queue.isEmpty)
        #expect(machine.queuedBytes == 0)
        #expect(machine.enqueue(Self.text(5)) == .write([Self.text(5)]))
    }

    @Test func theEndStopsEverythingAndKeepsTheCloseCause() {
        var machine = Machine(queueLimit: 100)
        _ = machine.enqueue(Self.text(10))
        _ = machine.close(code: 1000, reason: "done")
        machine.inboundEnded()
        #expect(machine.state == .ended(Connection.CloseCause(code: 1000, reason: "done")))
        #expect(machine.queue.isEmpty)
        #expect(machine.batchWritten(failed: false) == nil)
        #expect(machine.enqueue(Self.text(1)) == .none)
        #expect(machine.close(code: 1001, reason: "late") == .none)
        #expect(machine.closeCause?.code == 1000)
    }

    @Test func anEndWithoutACloseHasNoCause() {
        var machine = Machine(queueLimit: 100)
        machine.inboundEnded()
        #expect(machine.isClosing)
        #expect(machine.closeCause == nil)
    }
}
