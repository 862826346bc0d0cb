import HeraldProtocol
import NIOCore
import NIOWebSocket

/// Serves an upgraded WebSocket on its event loop: joins the client's frames into messages and hands
/// them to the session one at a time, answers pings and the close handshake, and lets nothing follow
/// a close frame out.
///
/// An idle connection is this handler, its `Connection` and NIO's own objects; no task waits on it.
/// Work that must await (other actors, Redis) runs in a short task per message, in arrival order.
final class WebSocketConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// What the session is given, in the order the client sent it.
    private enum Inbound {
        case text(String)
        case binary
        /// The client broke the WebSocket protocol: the connection closes with `code`.
        case violation(code: UInt16, reason: String)
        /// The client shut down its side of the socket: after what it sent before, the connection closes.
        case inputEnded
        /// The socket closed.
        case end
    }

    /// Complete messages waiting for the session at which reading from the socket pauses. Control frames
    /// are answered as they arrive, so a client kept waiting by a slow message is still heard (its pongs).
    static let inboxLimit = 4

    private let session: ConnectionSession
    private let maxMessageBytes: Int
    /// The connection's message rate (`HERALD_RATE_LIMIT_PER_SECOND`, `HERALD_RATE_LIMIT_BURST`).
    private var bucket: TokenBucket<ContinuousClock.Instant>
    /// The last message was over the rate.
    private var limiting = false
    /// Set while the handler is in the pipeline, to resume reading.
    private var context: ChannelHandlerContext?
    /// The channel's event loop, where the session's answers come back to (also after the handler left the pipeline).
    private var eventLoop: (any EventLoop)?

    /// At most a few items long; an empty array allocates nothing, which an idle connection keeps.
    private var inbox: [Inbound] = []
    /// The session is working on one inbound item; the rest wait their turn.
    private var busy = false
    /// A read was asked for while the inbox was full; it is issued once there is room.
    private var readHeld = false
    /// Whether `connection_established` went out, so the end has something to undo.
    private var registered = false

    /// A text or binary message whose first frames arrived, joined so far.
    private var fragments: ByteBuffer?
    /// The client broke the protocol or sent binary data: its further data frames are ignored.
    private var rejecting = false
    /// A close frame went out: nothing more may.
    private var closeSent = false
    /// The client shut down its sending side, so it cannot answer a close: the socket closes once ours is out.
    private var inputEnded = false

    init(identity: ConnectionIdentity, channel: any Channel, services: ConnectionServices) {
        let settings = services.settings
        session = ConnectionSession(identity: identity, transport: WebSocketTransport(channel: channel), services: services)
        maxMessageBytes = settings.maxFrameBytes
        bucket = TokenBucket(ratePerSecond: settings.rateLimitPerSecond, burst: settings.rateLimitBurst, now: .now)
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        eventLoop = context.eventLoop
        let connection = session.connection
        ConnectionTimeoutHandler.onIdle(of: context.channel) {
            Task { await connection.close(code: HeraldCloseCode.goingAway, reason: "idle: nothing heard from the client; reconnect and resume") }
        }
        busy = true
        let session = self.session
        context.eventLoop.makeFutureWithTask {
            await session.start()
        }.assumeIsolated().whenComplete { [self] result in
            registered = (try? result.get()) ?? false
            finished()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        // What the client sent but the session has not taken is moot now; only the clean-up is left.
        inbox.removeAll()
        inbox.append(.end)
        let connection = session.connection
        // Told at once, so a message still at work sees the connection gone.
        Task { await connection.inboundEnded() }
        dispatch()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // The server is stopping; connections still open are asked to reconnect elsewhere.
            let connection = session.connection
            Task { await connection.close(code: HeraldCloseCode.goingAway, reason: "gateway shutting down; reconnect and resume") }
        case ChannelEvent.inputClosed:
            // The client shut its side down (the server allows half-closure): nothing more can come, so the
            // connection ends, after the messages it sent before and their answers.
            inputEnded = true
            if closeSent {
                context.close(promise: nil)
            } else {
                enqueue(.inputEnded)
            }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Frame decoding errors were answered (close frame, socket closed) by NIO's WebSocketProtocolErrorHandler.
        session.logger.debug("websocket error", metadata: ["error": "\(error)"])
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            guard frame.fin else { return violation(.protocolError, "fragmented ping") }
            if !closeSent {
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            }
        case .pong:
            guard frame.fin else { return violation(.protocolError, "fragmented pong") }
        case .connectionClose:
            receivedClose(frame, context: context)
        case .text, .binary:
            guard !rejecting else { return }
            guard frame.reservedBits.isEmpty else { return violation(.protocolError, "reserved bits set; no extension was agreed") }
            guard fragments == nil else { return violation(.protocolError, "a new message started before the last one ended") }
            guard frame.opcode == .text else {
                rejecting = true
                return enqueue(.binary)
            }
            if frame.fin {
                complete(frame.unmaskedData)
            } else {
                fragments = frame.unmaskedData
            }
        case .continuation:
            guard !rejecting else { return }
            guard frame.reservedBits.isEmpty else { return violation(.protocolError, "reserved bits set; no extension was agreed") }
            guard var message = fragments else { return violation(.protocolError, "a continuation frame with no message to continue") }
            fragments = nil
            var data = frame.unmaskedData
            guard message.readableBytes + data.readableBytes <= maxMessageBytes else {
                return violation(.messageTooLarge, "message longer than \(maxMessageBytes) bytes")
            }
            message.writeBuffer(&data)
            if frame.fin {
                complete(message)
            } else {
                fragments = message
            }
        default:
            violation(.protocolError, "reserved opcode")
        }
    }

    private func complete(_ text: ByteBuffer) {
        guard let string = String(validating: text.readableBytesView, as: UTF8.self) else {
            return violation(.dataInconsistentWithMessage, "text is not valid UTF-8")
        }
        enqueue(.text(string))
    }

    private func violation(_ code: WebSocketErrorCode, _ reason: String) {
        guard !rejecting else { return }
        rejecting = true
        fragments = nil
        enqueue(.violation(code: UInt16(webSocketErrorCode: code), reason: reason))
    }

    /// The client's close: the answer to ours, or its own, which is answered before the socket closes.
    private func receivedClose(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        guard !closeSent else {
            context.close(promise: nil)
            return
        }
        let reply = WebSocketFrame(fin: true, opcode: .connectionClose, data: Self.closeReply(to: frame, allocator: context.channel.allocator))
        closeSent = true
        context.writeAndFlush(wrapOutboundOut(reply)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// 1000 for a well-formed close, 1002 for one with a malformed body or a code no endpoint may send.
    static func closeReply(to frame: WebSocketFrame, allocator: ByteBufferAllocator) -> ByteBuffer {
        var data = frame.unmaskedData
        var code = WebSocketErrorCode.normalClosure
        if data.readableBytes > 0 {
            let number = data.readInteger(as: UInt16.self)
            let reasonIsText = String(validating: data.readableBytesView, as: UTF8.self) != nil
            if let number, reasonIsText, Self.isSendable(closeCode: number) {
                code = .normalClosure
            } else {
                code = .protocolError
            }
        }
        var reply = allocator.buffer(capacity: 2)
        reply.write(webSocketErrorCode: code)
        return reply
    }

    /// Close codes a peer may put in a close frame (RFC 6455 section 7.4).
    static func isSendable(closeCode: UInt16) -> Bool {
        switch closeCode {
        case 1000...1003, 1007...1011, 3000...4999: true
        default: false
        }
    }

    // MARK: Handing messages to the session

    private func enqueue(_ item: Inbound) {
        inbox.append(item)
        dispatch()
    }

    /// Gives the session the next item once it finished the last.
    private func dispatch() {
        guard !busy, let eventLoop, !inbox.isEmpty else { return }
        let item = inbox.removeFirst()
        if readHeld, inbox.count < Self.inboxLimit {
            readHeld = false
            context?.read()
        }
        let session = self.session
        busy = true
        let work: @Sendable () async -> Void
        switch item {
        case .text(let text):
            let overRate = !bucket.take(at: .now)
            let startsBurst = overRate && !limiting
            limiting = overRate
            work = { await session.receive(text, overRate: overRate, startsBurst: startsBurst) }
        case .binary:
            work = { await session.connection.close(code: HeraldCloseCode.unsupportedData, reason: "binary frames are not supported; send JSON text") }
        case .violation(let code, let reason):
            work = { await session.connection.close(code: code, reason: reason) }
        case .inputEnded:
            work = { await session.connection.close(code: UInt16(webSocketErrorCode: .normalClosure), reason: "the client closed its side of the connection") }
        case .end:
            let registered = self.registered
            // The last item: the handler is done with the session.
            Task { await session.end(registered: registered) }
            return
        }
        eventLoop.makeFutureWithTask(work).assumeIsolated().whenComplete { [self] _ in
            finished()
        }
    }

    private func finished() {
        busy = false
        dispatch()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if inbox.count >= Self.inboxLimit {
            readHeld = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Whatever the session queued after a close (ours or the client's) stays unsent.
        guard !closeSent else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        guard unwrapOutboundIn(data).opcode == .connectionClose else {
            context.write(data, promise: promise)
            return
        }
        closeSent = true
        guard inputEnded else {
            context.write(data, promise: promise)
            return
        }
        // No close can come back: the socket closes as soon as ours is out.
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        context.write(data, promise: written)
    }
}
