import Logging
import NIOCore

/// The first handler of every accepted TCP connection: bounds the time to complete the request
/// (`HERALD_UPGRADE_TIMEOUT_SECONDS`) and, once upgraded, how long the WebSocket may stay silent
/// (`HERALD_IDLE_TIMEOUT_SECONDS`).
///
/// It sits in front of the HTTP codec, so it sees raw bytes: whatever the client sends counts as a
/// sign of life, pongs included. One scheduled task on the connection's event loop does the timing,
/// re-armed lazily (at most once per timeout), so a connection costs no task of its own.
final class ConnectionTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum Phase {
        /// Waiting for the request and the server's answer to it.
        case handshake
        /// Upgraded: watching for silence.
        case webSocket
        /// Timed out, or answered without an upgrade (plain HTTP has its own idle timeout).
        case done
    }

    private let upgradeTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let metrics: GatewayMetrics
    private let logger: Logger
    private var phase = Phase.handshake
    private var timer: Scheduled<Void>?
    private var lastRead = NIODeadline.now()
    /// What to do when the WebSocket went idle: close it through its connection, so the close frame
    /// follows what is queued. Until it is set (or if the connection never registered), the socket is dropped.
    private var idleAction: (@Sendable () -> Void)?

    init(upgradeTimeout: Duration, idleTimeout: Duration, metrics: GatewayMetrics, logger: Logger) {
        self.upgradeTimeout = TimeAmount(upgradeTimeout)
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
        if phase == .webSocket {
            lastRead = .now()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard phase == .handshake else {
            context.write(data, promise: promise)
            return
        }
        // The first bytes out answer the request: the handshake is over in time.
        timer?.cancel()
        timer = nil
        if Self.isSwitchingProtocols(unwrapOutboundIn(data)) {
            phase = .webSocket
            lastRead = .now()
            context.write(data, promise: promise)
            scheduleIdleCheck(context, at: lastRead + idleTimeout)
        } else {
            phase = .done
            context.write(data, promise: promise)
            // Nothing more to watch on a plain HTTP connection; step out of its way.
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
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
            phase = .done
            metrics.recordRefusal(.upgradeTimeout)
            logger.info("connection dropped: request not completed in time", metadata: ["timeout_seconds": "\(upgradeTimeout.nanoseconds / 1_000_000_000)"])
            // Told as the end of the client's input, the HTTP upgrade handler closes and reports it as such
            // (a trace line) rather than as a failed upgrade (an error line per dropped connection).
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            context.close(promise: nil)
        }
    }

    private func scheduleIdleCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard phase == .webSocket else { return }
            let quietUntil = lastRead + idleTimeout
            if NIODeadline.now() < quietUntil {
                // The client spoke since this check was set: look again when its silence could have lasted long enough.
                scheduleIdleCheck(context, at: quietUntil)
                return
            }
            phase = .done
            metrics.recordRefusal(.idleTimeout)
            logger.info("websocket idle: nothing from the client, not even a pong", metadata: ["timeout_seconds": "\(idleTimeout.nanoseconds / 1_000_000_000)"])
            if let idleAction {
                idleAction()
            } else {
                context.close(promise: nil)
            }
        }
    }
}
