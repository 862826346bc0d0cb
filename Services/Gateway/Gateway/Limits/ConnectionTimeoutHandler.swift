import Logging
import NIOCore

/// The first handler of every accepted TCP connection: bounds the time to complete the request
/// (`HERALD_UPGRADE_TIMEOUT_SECONDS`; on a plain HTTP connection, every request), then pings a quiet
/// WebSocket every `HERALD_PING_INTERVAL_SECONDS` and closes it once it stayed silent for
/// `HERALD_IDLE_TIMEOUT_SECONDS`.
///
/// It sits in front of the HTTP codec, so it sees raw bytes: whatever the client sends counts as a
/// sign of life, pongs included. One scheduled task on the connection's event loop does all the timing,
/// re-armed lazily, so a connection costs no task of its own (WSCore's auto-ping would cost one each).
///
/// NIO's `IdleStateHandler` is not used: it only reports that reading or writing went quiet. The timing here
/// differs by phase (the request's deadline before and without an upgrade, pings and silence after it), a ping
/// must wait for the end of a frame half written (`OutboundFrameScanner`) and stop after the server's close, and
/// an idle WebSocket is closed through its connection with 1001 after what is queued; all of that would stay here,
/// and `IdleStateHandler` would add its own timers to this one.
final class ConnectionTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum Phase {
        /// Waiting for the request and the server's answer to it.
        case handshake
        /// Upgraded: pinging when quiet, watching for silence.
        case webSocket
        /// Answered without an upgrade: plain HTTP, where bytes that arrive must be answered in time as well.
        case http
        /// Timed out.
        case done
    }

    /// An unmasked ping with no payload: server frames are never masked, and an empty ping is all a pong must echo.
    static let pingFrame = ByteBuffer(bytes: [0x89, 0x00])

    private let upgradeTimeout: TimeAmount
    private let pingInterval: TimeAmount
    private let idleTimeout: TimeAmount
    private let metrics: GatewayMetrics
    private let logger: Logger
    private var phase = Phase.handshake
    private var timer: Scheduled<Void>?
    private var lastRead = NIODeadline.now()
    private var lastPing = NIODeadline.now()
    /// A ping fell due while a frame was half written; it goes out right after that frame.
    private var pingPending = false
    /// Where the server's own frames begin and end, and whether one was a close.
    private var outbound = OutboundFrameScanner()
    /// What to do when the WebSocket went idle: close it through its connection, so the close frame
    /// follows what is queued. Until it is set (or if the connection never registered), the socket is dropped.
    private var idleAction: (@Sendable () -> Void)?

    init(upgradeTimeout: Duration, pingInterval: Duration, idleTimeout: Duration, metrics: GatewayMetrics, logger: Logger) {
        self.upgradeTimeout = TimeAmount(upgradeTimeout)
        self.pingInterval = TimeAmount(pingInterval)
        self.idleTimeout = TimeAmount(idleTimeout)
        self.metrics = metrics
        self.logger = logger
    }

    /// Makes an idle timeout on this channel call `action` instead of dropping the socket.
    static func onIdle(of channel: any Channel, _ action: @escaping @Sendable () -> Void) {
        channel.eventLoop.execute {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: ConnectionTimeoutHandler.self) else { return }
            handler.idleAction = action
        }
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armHandshake(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armHandshake(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    private func stop() {
        timer?.cancel()
        timer = nil
        idleAction = nil
    }

    // MARK: Traffic

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .webSocket:
            lastRead = .now()
        case .http where timer == nil:
            // The next request, or more of a body the last answer did not wait for: it must be answered in
            // time too. HTTP's own idle timeout counts from the last byte, so a client trickling a body that
            // never ends (no route takes one) would otherwise hold the socket for good.
            armRequest(context)
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch phase {
        case .handshake:
            answer(context: context, data: data, promise: promise)
        case .webSocket:
            if case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
                outbound.consume(buffer)
            }
            context.write(data, promise: promise)
            if pingPending, outbound.isAtFrameBoundary {
                pingPending = false
                ping(context)
                // The timer waited only for silence meanwhile; it times the next ping again.
                timer?.cancel()
                armWebSocketTimer(context)
            }
        case .http:
            // An answer: what was asked arrived in time.
            timer?.cancel()
            timer = nil
            context.write(data, promise: promise)
        case .done:
            context.write(data, promise: promise)
        }
    }

    /// The first bytes out answer the request: the handshake is over in time.
    private func answer(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        timer?.cancel()
        timer = nil
        if Self.isSwitchingProtocols(unwrapOutboundIn(data)) {
            phase = .webSocket
            lastRead = .now()
            lastPing = lastRead
            context.write(data, promise: promise)
            armWebSocketTimer(context)
        } else {
            phase = .http
            context.write(data, promise: promise)
        }
    }

    /// Whether a response starts with the status line of a completed upgrade (`HTTP/1.1 101`).
    static func isSwitchingProtocols(_ data: IOData) -> Bool {
        guard case .byteBuffer(let buffer) = data, let line = buffer.getBytes(at: buffer.readerIndex, length: 12) else { return false }
        return line.elementsEqual("HTTP/1.1 101".utf8)
    }

    // MARK: Timers

    private func armHandshake(_ context: ChannelHandlerContext) {
        guard phase == .handshake, timer == nil else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: upgradeTimeout) { [self] in
            timer = nil
            guard phase == .handshake else { return }
            dropUnanswered(context)
        }
    }

    private func armRequest(_ context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: upgradeTimeout) { [self] in
            timer = nil
            guard phase == .http else { return }
            dropUnanswered(context)
        }
    }

    /// The request did not arrive in full (so it was not answered) within the upgrade timeout.
    private func dropUnanswered(_ context: ChannelHandlerContext) {
        phase = .done
        metrics.recordRefusal(.upgradeTimeout)
        logger.info(
            "connection dropped: request not completed in time",
            metadata: ["timeout_seconds": "\(upgradeTimeout.nanoseconds / 1_000_000_000)"]
        )
        // Told as the end of the client's input, the HTTP upgrade handler closes and reports it as such
        // (a trace line) rather than as a failed upgrade (an error line per dropped connection).
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        context.close(promise: nil)
    }

    /// Pings stop once the server sent its close: nothing may follow a close frame.
    private var mayPing: Bool { !outbound.sawClose }

    /// A ping is due after a ping interval in which nothing was heard and no ping went out, so a client
    /// that answers every ping is never silent for much more than one interval.
    private var nextPing: NIODeadline { max(lastRead, lastPing) + pingInterval }

    private func armWebSocketTimer(_ context: ChannelHandlerContext) {
        let idleAt = lastRead + idleTimeout
        let deadline = mayPing && !pingPending ? min(idleAt, nextPing) : idleAt
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard phase == .webSocket else { return }
            let now = NIODeadline.now()
            if now >= lastRead + idleTimeout {
                if outbound.sawClose {
                    // Already closing and still silent: the close timeout normally drops the socket first; this is the backstop.
                    phase = .done
                    context.close(promise: nil)
                } else {
                    closeIdle(context)
                }
                return
            }
            if mayPing, !pingPending, now >= nextPing {
                if outbound.isAtFrameBoundary {
                    ping(context)
                } else {
                    pingPending = true
                }
            }
            armWebSocketTimer(context)
        }
    }

    private func ping(_ context: ChannelHandlerContext) {
        guard mayPing else { return }
        lastPing = .now()
        // Written below the WebSocket encoder, at a frame boundary, and flushed at once: a ping waits for nothing.
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(Self.pingFrame)), promise: nil)
    }

    private func closeIdle(_ context: ChannelHandlerContext) {
        phase = .done
        metrics.recordRefusal(.idleTimeout)
        logger.info(
            "websocket idle: nothing from the client, not even a pong",
            metadata: ["timeout_seconds": "\(idleTimeout.nanoseconds / 1_000_000_000)"]
        )
        if let idleAction {
            idleAction()
        } else {
            context.close(promise: nil)
        }
    }
}
