import HeraldProtocol
import NIOCore
import NIOWebSocket

// Fragments are joined here rather than by NIO's `NIOWebSocketFrameAggregator`, which does not do what the
// browser protocol (DESIGN.md) asks of this connection:
// - a binary message is refused with 1003 at its first frame; the aggregator would buffer it, up to the size limit,
//   before anything could refuse it;
// - after a violation the client's further data frames are ignored until the close handshake ends; the aggregator
//   forgets its error and hands the next message on, which the session would then answer;
// - reserved bits are refused on every frame (1002); the aggregator joins continuation frames without looking;
// - the aggregator needs a count of fragments per message, a limit the protocol does not have, and keeps every
//   fragment until the last arrives (then copies them), where this joins into one buffer as they come.

extension WebSocketConnectionHandler {
    /// Everything the handler decides, without its channel: how the client's frames become messages, when the
    /// session gets the next one, when reading pauses, and the close handshake. Each event returns what the
    /// handler must do; the handler does only that.
    struct StateMachine {
        /// What the session is given, in the order the client sent it.
        enum Inbound: Equatable {
            case text(String)
            case binary
            /// The client broke the WebSocket protocol: the connection closes with `code`.
            case violation(code: UInt16, reason: String)
            /// The client shut down its side of the socket: after what it sent before, the connection closes.
            case inputEnded
            /// The socket closed.
            case end
        }

        /// The session's side: one item at a time, in order.
        enum State: Equatable {
            /// `ConnectionSession.start` runs; items wait.
            case starting
            /// Waiting for the next item. `registered` when `connection_established` went out, so the end has something to undo.
            case idle(registered: Bool)
            /// The session works on one item; the rest wait their turn.
            case working(registered: Bool)
            /// The end was handed to the session: it gets nothing more.
            case ended
        }

        /// The client's message being read from its frames.
        enum MessageState: Equatable {
            case betweenMessages
            /// A text message whose first frames arrived, joined so far.
            case joining(ByteBuffer)
            /// The client broke the protocol or sent binary data: its further data frames are ignored.
            case rejecting
        }

        /// The close handshake, from this side.
        enum Handshake: Equatable {
            case open
            /// The client shut down its sending side, so it cannot answer a close: the socket closes once ours is out.
            case inputEnded
            /// A close frame went out: nothing more may.
            case closeSent
            /// A close went out and the client's input ended: only closing the socket is left.
            case closing
        }

        /// Whether a read the channel asked for was passed on.
        enum Reading: Equatable {
            case flowing
            /// Asked for while the inbox was full; passed on once there is room.
            case held
        }

        /// Whether the last text message came faster than the connection's rate.
        enum Rate: Equatable {
            case withinRate
            case overRate
        }

        /// What the session is told to do with the next item.
        enum Delivery: Equatable {
            /// A text message; `overRate` when it came too fast, `startsBurst` when the one before it did not.
            case text(String, overRate: Bool, startsBurst: Bool)
            /// The connection closes (after what is queued) with `code`.
            case close(code: UInt16, reason: String)
        }

        /// What follows from the session being free or the inbox growing.
        enum DispatchAction: Equatable {
            case none
            /// Hand `delivery` to the session; `resumeReading` when a held read is to be passed on first.
            case deliver(Delivery, resumeReading: Bool)
            /// The socket closed: let the session go (the last thing the handler does with it).
            case endSession(registered: Bool)
        }

        /// What a frame from the client asks for.
        enum FrameAction: Equatable {
            case none
            case sendPong(ByteBuffer)
            /// Something was queued for the session.
            case dispatch(DispatchAction)
            /// The client's own close: answer with `code`, then close the socket.
            case answerClose(WebSocketErrorCode)
            /// The client's answer to our close: close the socket.
            case closeChannel
        }

        /// What the end of the client's input asks for.
        enum InputClosedAction: Equatable {
            /// Our close is out and no answer can come: close the socket.
            case closeChannel
            case dispatch(DispatchAction)
        }

        /// What to do with a read the channel asks for.
        enum ReadAction: Equatable {
            case read
            case hold
        }

        /// What to do with a frame the session writes.
        enum WriteAction: Equatable {
            /// Nothing may follow a close: fail the write.
            case fail
            case write
            /// Write the close, then close the socket: the client cannot answer it.
            case writeThenCloseChannel
        }

        /// Complete messages waiting for the session at which reading from the socket pauses. Control frames
        /// are answered as they arrive, so a client kept waiting by a slow message is still heard (its pongs).
        static let inboxLimit = 4

        private(set) var state = State.starting
        private(set) var message = MessageState.betweenMessages
        private(set) var handshake = Handshake.open
        private(set) var reading = Reading.flowing
        private(set) var rate = Rate.withinRate
        /// At most a few items long; an empty array allocates nothing, which an idle connection keeps.
        private(set) var inbox: [Inbound] = []
        private let maxMessageBytes: Int
        /// The connection's message rate (`HERALD_RATE_LIMIT_PER_SECOND`, `HERALD_RATE_LIMIT_BURST`).
        private var bucket: TokenBucket<ContinuousClock.Instant>

        init(maxMessageBytes: Int, bucket: TokenBucket<ContinuousClock.Instant>) {
            self.maxMessageBytes = maxMessageBytes
            self.bucket = bucket
        }

        // MARK: The session

        /// `ConnectionSession.start` returned.
        mutating func sessionStarted(registered: Bool, now: ContinuousClock.Instant) -> DispatchAction {
            guard state == .starting else { preconditionFailure("the session started twice (state \(state))") }
            state = .idle(registered: registered)
            return dispatch(now: now)
        }

        /// The session finished the item it was given.
        mutating func itemHandled(now: ContinuousClock.Instant) -> DispatchAction {
            guard case .working(let registered) = state else { preconditionFailure("an item was handled with none given (state \(state))") }
            state = .idle(registered: registered)
            return dispatch(now: now)
        }

        /// Gives the session the next item once it finished the last.
        private mutating func dispatch(now: ContinuousClock.Instant) -> DispatchAction {
            guard case .idle(let registered) = state, !inbox.isEmpty else { return .none }
            let item = inbox.removeFirst()
            var resumeReading = false
            if reading == .held, inbox.count < Self.inboxLimit {
                reading = .flowing
                resumeReading = true
            }
            let delivery: Delivery
            switch item {
            case .text(let text):
                let overRate = !bucket.take(at: now)
                let startsBurst = overRate && rate == .withinRate
                rate = overRate ? .overRate : .withinRate
                delivery = .text(text, overRate: overRate, startsBurst: startsBurst)
            case .binary:
                delivery = .close(code: HeraldCloseCode.unsupportedData, reason: "binary frames are not supported; send JSON text")
            case .violation(let code, let reason):
                delivery = .close(code: code, reason: reason)
            case .inputEnded:
                delivery = .close(code: UInt16(webSocketErrorCode: .normalClosure), reason: "the client closed its side of the connection")
            case .end:
                state = .ended
                return .endSession(registered: registered)
            }
            state = .working(registered: registered)
            return .deliver(delivery, resumeReading: resumeReading)
        }

        private mutating func enqueue(_ item: Inbound, now: ContinuousClock.Instant) -> DispatchAction {
            guard state != .ended else { return .none }
            inbox.append(item)
            return dispatch(now: now)
        }

        // MARK: The socket

        /// The socket closed. What the client sent but the session has not taken is moot now; only the clean-up is left.
        mutating func channelInactive(now: ContinuousClock.Instant) -> DispatchAction {
            guard state != .ended else { return .none }
            inbox.removeAll()
            message = .betweenMessages
            return enqueue(.end, now: now)
        }

        /// The client shut its side down (the server allows half-closure): nothing more can come, so the
        /// connection ends, after the messages it sent before and their answers.
        mutating func inputClosed(now: ContinuousClock.Instant) -> InputClosedAction {
            switch handshake {
            case .closeSent, .closing:
                handshake = .closing
                return .closeChannel
            case .open, .inputEnded:
                handshake = .inputEnded
                return .dispatch(enqueue(.inputEnded, now: now))
            }
        }

        /// The channel asks for more of the client's bytes.
        mutating func read() -> ReadAction {
            if inbox.count >= Self.inboxLimit {
                reading = .held
                return .hold
            }
            return .read
        }

        /// A frame the session writes. Whatever it queued after a close (ours or the client's) stays unsent.
        mutating func write(opcode: WebSocketOpcode) -> WriteAction {
            switch handshake {
            case .closeSent, .closing:
                return .fail
            case .open:
                if opcode == .connectionClose { handshake = .closeSent }
                return .write
            case .inputEnded:
                guard opcode == .connectionClose else { return .write }
                handshake = .closing
                return .writeThenCloseChannel
            }
        }

        // MARK: The client's frames

        mutating func frameReceived(_ frame: WebSocketFrame, now: ContinuousClock.Instant) -> FrameAction {
            switch frame.opcode {
            case .ping:
                guard frame.fin else { return violation(.protocolError, "fragmented ping", now: now) }
                switch handshake {
                case .closeSent, .closing: return .none
                case .open, .inputEnded: return .sendPong(frame.unmaskedData)
                }
            case .pong:
                guard frame.fin else { return violation(.protocolError, "fragmented pong", now: now) }
                return .none
            case .connectionClose:
                return receivedClose(frame)
            case .text, .binary:
                guard message != .rejecting else { return .none }
                guard frame.reservedBits.isEmpty else { return violation(.protocolError, "reserved bits set; no extension was agreed", now: now) }
                guard message == .betweenMessages else {
                    return violation(.protocolError, "a new message started before the last one ended", now: now)
                }
                guard frame.opcode == .text else {
                    message = .rejecting
                    return .dispatch(enqueue(.binary, now: now))
                }
                if frame.fin {
                    return complete(frame.unmaskedData, now: now)
                }
                message = .joining(frame.unmaskedData)
                return .none
            case .continuation:
                guard message != .rejecting else { return .none }
                guard frame.reservedBits.isEmpty else { return violation(.protocolError, "reserved bits set; no extension was agreed", now: now) }
                guard case .joining(var joined) = message else {
                    return violation(.protocolError, "a continuation frame with no message to continue", now: now)
                }
                // Taken out of the state first, so appending does not copy the buffer.
                message = .betweenMessages
                var data = frame.unmaskedData
                guard joined.readableBytes + data.readableBytes <= maxMessageBytes else {
                    return violation(.messageTooLarge, "message longer than \(maxMessageBytes) bytes", now: now)
                }
                joined.writeBuffer(&data)
                if frame.fin {
                    return complete(joined, now: now)
                }
                message = .joining(joined)
                return .none
            default:
                return violation(.protocolError, "reserved opcode", now: now)
            }
        }

        private mutating func complete(_ text: ByteBuffer, now: ContinuousClock.Instant) -> FrameAction {
            guard let string = String(validating: text.readableBytesView, as: UTF8.self) else {
                return violation(.dataInconsistentWithMessage, "text is not valid UTF-8", now: now)
            }
            return .dispatch(enqueue(.text(string), now: now))
        }

        private mutating func violation(_ code: WebSocketErrorCode, _ reason: String, now: ContinuousClock.Instant) -> FrameAction {
            guard message != .rejecting else { return .none }
            message = .rejecting
            return .dispatch(enqueue(.violation(code: UInt16(webSocketErrorCode: code), reason: reason), now: now))
        }

        /// The client's close: the answer to ours, or its own, which is answered before the socket closes.
        private mutating func receivedClose(_ frame: WebSocketFrame) -> FrameAction {
            switch handshake {
            case .closeSent, .closing:
                return .closeChannel
            case .open, .inputEnded:
                handshake = .closeSent
                return .answerClose(Self.closeReplyCode(to: frame.unmaskedData))
            }
        }

        /// 1000 for a well-formed close, 1002 for one with a malformed body or a code no endpoint may send.
        static func closeReplyCode(to body: ByteBuffer) -> WebSocketErrorCode {
            var body = body
            guard body.readableBytes > 0 else { return .normalClosure }
            let number = body.readInteger(as: UInt16.self)
            let reasonIsText = String(validating: body.readableBytesView, as: UTF8.self) != nil
            if let number, reasonIsText, isSendable(closeCode: number) {
                return .normalClosure
            }
            return .protocolError
        }

        /// Close codes a peer may put in a close frame (RFC 6455 section 7.4).
        static func isSendable(closeCode: UInt16) -> Bool {
            switch closeCode {
            case 1000...1003, 1007...1011, 3000...4999: true
            default: false
            }
        }
    }
}
