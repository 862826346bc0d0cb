import HeraldProtocol
import NIOCore
import NIOWebSocket

/// Serves an upgraded WebSocket on its event loop: joins the client's frames into messages and hands
/// them to the session one at a time, answers pings and the close handshake, and lets nothing follow
/// a close frame out.
///
/// An idle connection is this handler, its `Connection` and NIO's own objects; no task waits on it.
/// Work that must await (other actors, Redis) runs in a short task per message, in arrival order. What
/// only tells the `Connection` something (the end, shutdown, the idle timeout) is a task too: the actor
/// runs on the shared executor, not on this loop, and the handler must not wait for it.
final class WebSocketConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let session: ConnectionSession
    private var machine: StateMachine
    /// Set while the handler is in the pipeline, to resume reading.
    private var context: ChannelHandlerContext?
    /// The channel's event loop, where the session's answers come back to (also after the handler left the pipeline).
    private var eventLoop: (any EventLoop)?

    init(identity: ConnectionIdentity, channel: any Channel, services: ConnectionServices) {
        let settings = services.settings
        session = ConnectionSession(identity: identity, transport: WebSocketTransport(channel: channel), services: services)
        machine = StateMachine(
            maxMessageBytes: settings.maxFrameBytes,
            bucket: TokenBucket(ratePerSecond: settings.rateLimitPerSecond, burst: settings.rateLimitBurst, now: .now)
        )
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        eventLoop = context.eventLoop
        let connection = session.connection
        ConnectionTimeoutHandler.onIdle(of: context.channel) {
            Task { await connection.close(code: HeraldCloseCode.goingAway, reason: "idle: nothing heard from the client; reconnect and resume") }
        }
        let session = self.session
        context.eventLoop.makeFutureWithTask {
            await session.start()
        }.assumeIsolated().whenComplete { [self] result in
            run(machine.sessionStarted(registered: (try? result.get()) ?? false, now: .now))
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        let connection = session.connection
        // Told at once, so a message still at work sees the connection gone.
        Task { await connection.inboundEnded() }
        run(machine.channelInactive(now: .now))
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // The server is stopping; connections still open are asked to reconnect elsewhere.
            let connection = session.connection
            Task { await connection.close(code: HeraldCloseCode.goingAway, reason: "gateway shutting down; reconnect and resume") }
        case ChannelEvent.inputClosed:
            switch machine.inputClosed(now: .now) {
            case .closeChannel:
                context.close(promise: nil)
            case .dispatch(let action):
                run(action)
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
        switch machine.frameReceived(unwrapInboundIn(data), now: .now) {
        case .none:
            break
        case .sendPong(let payload):
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: payload)), promise: nil)
        case .dispatch(let action):
            run(action)
        case .answerClose(let code):
            var body = context.channel.allocator.buffer(capacity: 2)
            body.write(webSocketErrorCode: code)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: body))).assumeIsolated().whenComplete {
                _ in
                context.close(promise: nil)
            }
        case .closeChannel:
            context.close(promise: nil)
        }
    }

    // MARK: Handing messages to the session

    /// Does what the state machine decided about the session's next item.
    private func run(_ action: StateMachine.DispatchAction) {
        switch action {
        case .none:
            return
        case .endSession(let registered):
            let session = self.session
            // Not awaited: nothing on this loop follows the end, and the unwatching and unregistering await other actors.
            Task { await session.end(registered: registered) }
        case .deliver(let delivery, let resumeReading):
            if resumeReading {
                context?.read()
            }
            deliver(delivery)
        }
    }

    /// Runs one item in a short task: an idle connection then keeps no task, and the next item waits for this one.
    private func deliver(_ delivery: StateMachine.Delivery) {
        guard let eventLoop else { preconditionFailure("an item was delivered before the handler was added") }
        let session = self.session
        let work: @Sendable () async -> Void
        switch delivery {
        case .text(let text, let overRate, let startsBurst):
            work = { await session.receive(text, overRate: overRate, startsBurst: startsBurst) }
        case .close(let code, let reason):
            work = { await session.connection.close(code: code, reason: reason) }
        }
        eventLoop.makeFutureWithTask(work).assumeIsolated().whenComplete { [self] _ in
            run(machine.itemHandled(now: .now))
        }
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        switch machine.read() {
        case .read:
            context.read()
        case .hold:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch machine.write(opcode: unwrapOutboundIn(data).opcode) {
        case .fail:
            promise?.fail(ChannelError.outputClosed)
        case .write:
            context.write(data, promise: promise)
        case .writeThenCloseChannel:
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
            context.write(data, promise: written)
        }
    }
}
