import HeraldProtocol
import NIOCore
import NIOWebSocket
import Testing

@testable import Gateway

/// The WebSocket connection's decisions without a socket: frames into messages, one item at a time to the
/// session, reading paused while the inbox is full, the close handshake from either side, and the rate.
@Suite struct WebSocketConnectionStateMachineTests {
    typealias Machine = WebSocketConnectionHandler.StateMachine

    private static let start = ContinuousClock.now

    /// A machine whose session started (registered) and waits for the first item.
    private static func started(maxMessageBytes: Int = 64, rate: Int = 100, burst: Int = 100) -> Machine {
        var machine = Machine(maxMessageBytes: maxMessageBytes, bucket: TokenBucket(ratePerSecond: rate, burst: burst, now: start))
        let action = machine.sessionStarted(registered: true, now: start)
        #expect(action == .none)
        #expect(machine.state == .idle(registered: true))
        return machine
    }

    private static func frame(_ opcode: WebSocketOpcode, _ text: String = "", fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, data: ByteBuffer(string: text))
    }

    private static func frame(_ opcode: WebSocketOpcode, bytes: [UInt8], fin: Bool = true) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(bytes: bytes))
    }

    private static func text(_ text: String) -> Machine.FrameAction {
        .dispatch(.deliver(.text(text, overRate: false, startsBurst: false), resumeReading: false))
    }

    private static func closing(_ code: WebSocketErrorCode, _ reason: String) -> Machine.FrameAction {
        .dispatch(.deliver(.close(code: UInt16(webSocketErrorCode: code), reason: reason), resumeReading: false))
    }

    // MARK: Starting and the session's turn

    @Test func itemsWaitWhileTheSessionStartsAndGoOutOneAtATime() {
        var machine = Machine(maxMessageBytes: 64, bucket: TokenBucket(ratePerSecond: 100, burst: 100, now: Self.start))
        #expect(machine.state == .starting)
        #expect(machine.frameReceived(Self.frame(.text, "a"), now: Self.start) == .dispatch(.none))
        #expect(machine.frameReceived(Self.frame(.text, "b"), now: Self.start) == .dispatch(.none))
        #expect(machine.inbox == [.text("a"), .text("b")])
        #expect(
            machine.sessionStarted(registered: false, now: Self.start)
                == .deliver(.text("a", overRate: false, startsBurst: false), resumeReading: false)
        )
        #expect(machine.state == .working(registered: false))
        // Another item arrives while the session works: it waits.
        #expect(machine.frameReceived(Self.frame(.text, "c"), now: Self.start) == .dispatch(.none))
        #expect(machine.itemHandled(now: Self.start) == .deliver(.text("b", overRate: false, startsBurst: false), resumeReading: false))
        #expect(machine.itemHandled(now: Self.start) == .deliver(.text("c", overRate: false, startsBurst: false), resumeReading: false))
        #expect(machine.itemHandled(now: Self.start) == .none)
        #expect(machine.state == .idle(registered: false))
    }

    @Test func theEndWaitsForTheItemAtWorkDropsTheRestAndEndsTheSessionOnce() {
        var machine = Self.started()
        #expect(machine.frameReceived(Self.frame(.text, "a"), now: Self.start) == Self.text("a"))
        #expect(machine.frameReceived(Self.frame(.text, "b"), now: Self.start) == .dispatch(.none))
        #expect(machine.channelInactive(now: Self.start) == .none)
        #expect(machine.inbox == [.end])
        #expect(machine.itemHandled(now: Self.start) == .endSession(registered: true))
        #expect(machine.state == .ended)
        // Nothing reaches an ended session.
        #expect(machine.channelInactive(now: Self.start) == .none)
        #expect(machine.frameReceived(Self.frame(.text, "c"), now: Self.start) == .dispatch(.none))
        #expect(machine.inbox.isEmpty)
    }

    @Test func aSocketClosedWhileStartingEndsWithWhatTheStartDecided() {
        var machine = Machine(maxMessageBytes: 64, bucket: TokenBucket(ratePerSecond: 1, burst: 1, now: Self.start))
        #expect(machine.channelInactive(now: Self.start) == .none)
        #expect(machine.sessionStarted(registered: false, now: Self.start) == .endSession(registered: false))
    }

    // MARK: Reading

    @Test func aReadIsHeldWhileTheInboxIsFullAndPassedOnWithTheItemThatMakesRoom() {
        var machine = Self.started()
        #expect(machine.frameReceived(Self.frame(.text, "0"), now: Self.start) == Self.text("0"))
        for index in 1...Machine.inboxLimit {
            #expect(machine.read() == .read)
            #expect(machine.frameReceived(Self.frame(.text, "\(index)"), now: Self.start) == .dispatch(.none))
        }
        #expect(machine.read() == .hold)
        #expect(machine.reading == .held)
        #expect(machine.itemHandled(now: Self.start) == .deliver(.text("1", overRate: false, startsBurst: false), resumeReading: true))
        #expect(machine.reading == .flowing)
        #expect(machine.itemHandled(now: Self.start) == .deliver(.text("2", overRate: false, startsBurst: false), resumeReading: false))
    }

    // MARK: Frames

    @Test func fragmentsAreJoinedAndControlFramesBetweenThemAnswered() {
        var machine = Self.started()
        #expect(machine.frameReceived(Self.frame(.text, #"{"ty"#, fin: false), now: Self.start) == .none)
        #expect(machine.frameReceived(Self.frame(.ping, "x"), now: Self.start) == .sendPong(ByteBuffer(string: "x")))
        #expect(machine.frameReceived(Self.frame(.pong), now: Self.start) == .none)
        #expect(machine.frameReceived(Self.frame(.continuation, #"pe":"#, fin: false), now: Self.start) == .none)
        #expect(machine.message == .joining(ByteBuffer(string: #"{"type":"#)))
        #expect(machine.frameReceived(Self.frame(.continuation, #""ping"}"#), now: Self.start) == Self.text(#"{"type":"ping"}"#))
        #expect(machine.message == .betweenMessages)
    }

    @Test func aMessageOverTheLimitClosesWith1009AndLaterDataFramesAreIgnored() {
        var machine = Self.started(maxMessageBytes: 8)
        #expect(machine.frameReceived(Self.frame(.text, "12345", fin: false), now: Self.start) == .none)
        #expect(
            machine.frameReceived(Self.frame(.continuation, "6789"), now: Self.start) == Self.closing(.messageTooLarge, "message longer than 8 bytes")
        )
        #expect(machine.message == .rejecting)
        #expect(machine.frameReceived(Self.frame(.continuation, "x"), now: Self.start) == .none)
        #expect(machine.frameReceived(Self.frame(.text, "x"), now: Self.start) == .none)
        // A second violation adds nothing: the first one's close is on its way.
        #expect(machine.frameReceived(Self.frame(.ping, fin: false), now: Self.start) == .none)
        // Control frames are still answered.
        #expect(machine.frameReceived(Self.frame(.ping, "p"), now: Self.start) == .sendPong(ByteBuffer(string: "p")))
    }

    @Test func aMessageOfExactlyTheLimitIsTaken() {
        var machine = Self.started(maxMessageBytes: 8)
        #expect(machine.frameReceived(Self.frame(.text, "1234", fin: false), now: Self.start) == .none)
        #expect(machine.frameReceived(Self.frame(.continuation, "5678"), now: Self.start) == Self.text("12345678"))
    }

    @Test func binaryIsRefusedWith1003AtItsFirstFrame() {
        var machine = Self.started()
        #expect(
            machine.frameReceived(Self.frame(.binary, bytes: [1, 2], fin: false), now: Self.start)
                == .dispatch(
                    .deliver(
                        .close(code: HeraldCloseCode.unsupportedData, reason: "binary frames are not supported; send JSON text"),
                        resumeReading: false
                    )
                )
        )
        #expect(machine.frameReceived(Self.frame(.continuation, bytes: [3]), now: Self.start) == .none)
    }

    @Test(arguments: [
        (WebSocketFrame(fin: true, rsv1: true, opcode: .text, data: ByteBuffer(string: "a")), "reserved bits set; no extension was agreed"),
        (WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: "a")), "a continuation frame with no message to continue"),
        (WebSocketFrame(fin: false, opcode: .ping, data: ByteBuffer()), "fragmented ping"),
        (WebSocketFrame(fin: false, opcode: .pong, data: ByteBuffer()), "fragmented pong"),
        (WebSocketFrame(fin: true, opcode: WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, data: ByteBuffer()), "reserved opcode"),
    ])
    func protocolViolationsCloseWith1002(frame: WebSocketFrame, reason: String) {
        var machine = Self.started()
        #expect(machine.frameReceived(frame, now: Self.start) == Self.closing(.protocolError, reason))
        #expect(machine.message == .rejecting)
    }

    @Test func aNewMessageBeforeTheLastEndedAndReservedBitsOnAContinuationAreViolations() {
        var first = Self.started()
        _ = first.frameReceived(Self.frame(.text, "a", fin: false), now: Self.start)
        #expect(
            first.frameReceived(Self.frame(.text, "b"), now: Self.start)
                == Self.closing(.protocolError, "a new message started before the last one ended")
        )
        var second = Self.started()
        _ = second.frameReceived(Self.frame(.text, "a", fin: false), now: Self.start)
        #expect(
            second.frameReceived(Self.frame(.continuation, "b", rsv1: true), now: Self.start)
                == Self.closing(.protocolError, "reserved bits set; no extension was agreed")
        )
    }

    @Test func invalidUTF8ClosesWith1007() {
        var machine = Self.started()
        #expect(
            machine.frameReceived(Self.frame(.text, bytes: [0xC3, 0x28]), now: Self.start)
                == Self.closing(.dataInconsistentWithMessage, "text is not valid UTF-8")
        )
    }

    // MARK: Rate

    @Test func messagesOverTheRateAreMarkedAndOnlyTheFirstOfABurstStartsOne() {
        var machine = Self.started(rate: 1, burst: 1)
        #expect(machine.frameReceived(Self.frame(.text, "a"), now: Self.start) == Self.text("a"))
        _ = machine.frameReceived(Self.frame(.text, "b"), now: Self.start)
        _ = machine.frameReceived(Self.frame(.text, "c"), now: Self.start)
        #expect(machine.itemHandled(now: Self.start) == .deliver(.text("b", overRate: true, startsBurst: true), resumeReading: false))
        #expect(machine.rate == .overRate)
        #expect(machine.itemHandled(now: Self.start) == .deliver(.text("c", overRate: true, startsBurst: false), resumeReading: false))
        _ = machine.frameReceived(Self.frame(.text, "d"), now: Self.start)
        #expect(machine.itemHandled(now: Self.start + .seconds(2)) == .deliver(.text("d", overRate: false, startsBurst: false), resumeReading: false))
        #expect(machine.rate == .withinRate)
    }

    // MARK: The close handshake

    @Test(arguments: [
        ([UInt8](), WebSocketErrorCode.normalClosure),
        ([0x03, 0xE8] + Array("bye".utf8), .normalClosure),
        ([0x0F, 0xA0], .normalClosure),  // 4000, private use
        ([0x03], .protocolError),  // half a code
        ([0x03, 0xED], .protocolError),  // 1005 may not be sent
        ([0x03, 0xE8, 0xFF], .protocolError),  // a reason that is not UTF-8
    ])
    func theClientsCloseIsAnsweredThenNothingElseGoesOut(body: [UInt8], reply: WebSocketErrorCode) {
        var machine = Self.started()
        #expect(machine.frameReceived(Self.frame(.connectionClose, bytes: body), now: Self.start) == .answerClose(reply))
        #expect(machine.handshake == .closeSent)
        #expect(machine.write(opcode: .text) == .fail)
        #expect(machine.write(opcode: .connectionClose) == .fail)
        #expect(machine.frameReceived(Self.frame(.ping, "p"), now: Self.start) == .none)
        // A second close from the client closes the socket.
        #expect(machine.frameReceived(Self.frame(.connectionClose), now: Self.start) == .closeChannel)
    }

    @Test func ourCloseGoesOutOnceAndTheClientsAnswerClosesTheSocket() {
        var machine = Self.started()
        #expect(machine.write(opcode: .text) == .write)
        #expect(machine.write(opcode: .connectionClose) == .write)
        #expect(machine.handshake == .closeSent)
        #expect(machine.write(opcode: .text) == .fail)
        // The client's frames are still read (its messages are not acted on by a closing session).
        #expect(machine.frameReceived(Self.frame(.text, "late"), now: Self.start) == Self.text("late"))
        #expect(machine.frameReceived(Self.frame(.connectionClose, bytes: [0x03, 0xE8]), now: Self.start) == .closeChannel)
    }

    @Test func inputEndedBeforeOurCloseClosesWith1000AfterWhatCameBeforeThenTheSocketOnceTheCloseIsOut() {
        var machine = Self.started()
        #expect(machine.frameReceived(Self.frame(.text, "a"), now: Self.start) == Self.text("a"))
        #expect(machine.inputClosed(now: Self.start) == .dispatch(.none))
        #expect(machine.handshake == .inputEnded)
        #expect(
            machine.itemHandled(now: Self.start)
                == .deliver(.close(code: 1000, reason: "the client closed its side of the connection"), resumeReading: false)
        )
        #expect(machine.write(opcode: .text) == .write)
        #expect(machine.write(opcode: .connectionClose) == .writeThenCloseChannel)
        #expect(machine.handshake == .closing)
        #expect(machine.write(opcode: .text) == .fail)
    }

    @Test func inputEndedAfterOurCloseClosesTheSocket() {
        var machine = Self.started()
        #expect(machine.write(opcode: .connectionClose) == .write)
        #expect(machine.inputClosed(now: Self.start) == .closeChannel)
        #expect(machine.handshake == .closing)
        #expect(machine.inbox.isEmpty)
    }

    @Test func aCloseFromAClientWhoseInputEndedIsStillAnswered() {
        var machine = Self.started()
        _ = machine.inputClosed(now: Self.start)
        #expect(machine.frameReceived(Self.frame(.connectionClose), now: Self.start) == .answerClose(.normalClosure))
        #expect(machine.write(opcode: .connectionClose) == .fail)
    }
}
