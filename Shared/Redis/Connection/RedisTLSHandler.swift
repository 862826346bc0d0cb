import NIOCore
import NIOSSL
import NIOTLS

/// Sits behind `NIOSSLClientHandler`: turns its errors into `RedisError`s that say what to fix, before the command
/// handler fails the pending commands with them, and gives up on a handshake nobody answers.
///
/// A plain Redis port takes the TLS hello for the start of a command and waits for the rest, so without a limit the
/// first command would only time out, with nothing to say that TLS was the problem.
final class RedisTLSHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let endpoint: String
    private let checkedName: String
    private let tls: RedisTLS
    private let handshakeTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var handshakeCompleted = false

    init(endpoint: String, checkedName: String, tls: RedisTLS, handshakeTimeout: TimeAmount) {
        self.endpoint = endpoint
        self.checkedName = checkedName
        self.tls = tls
        self.handshakeTimeout = handshakeTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) { self.timerFired() }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
        timer = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            handshakeCompleted = true
            timer?.cancel()
            timer = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Redis may close without a TLS close_notify (and does when the client closes first); the connection's end
        // arrives as channelInactive anyway, and RESP replies are self-delimiting, so a cut reply cannot pass as whole.
        if let error = error as? NIOSSLError, error == .uncleanShutdown { return }
        let mapped = RedisError.tls(error, endpoint: endpoint, checkedName: checkedName, tls: tls, afterHandshake: handshakeCompleted)
        context.fireErrorCaught(mapped ?? error)
    }

    private func timerFired() {
        timer = nil
        guard !handshakeCompleted, let context else { return }
        context.fireErrorCaught(
            RedisError(
                kind: .tls(.other),
                message:
                    "TLS handshake with \(endpoint) failed: no answer within \(handshakeTimeout.prettyPrint) (is it Redis's tls-port? a plain port never answers a TLS handshake)"
            )
        )
        context.close(promise: nil)
    }
}
