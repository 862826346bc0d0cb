import Logging
import NIOCore

/// How long a command may wait for its reply.
enum RedisCommandDeadline: Sendable {
    /// The configured command timeout.
    case standard
    /// The command timeout plus the time a blocking command may legitimately wait (`BLOCK`, `BLPOP`).
    case extended(by: TimeAmount)
    /// No limit (a blocking command that waits forever).
    case none
}

/// Writes commands and hands each reply to whoever waits for it; it lives on the connection's event loop.
///
/// Commands written during one event-loop tick are gathered in one buffer and flushed once, so concurrent senders
/// share syscalls. One timer watches the oldest command only, instead of one timer per command.
final class RedisCommandHandler: ChannelInboundHandler {
    typealias InboundIn = RESPValue
    typealias OutboundOut = ByteBuffer

    private static let retainedOutboundLimit = 64 * 1024

    private let commandTimeout: TimeAmount
    private let endpoint: String
    private let logger: Logger
    private var stateMachine = RedisConnectionStateMachine()
    private let encoder = RESPCommandEncoder()
    private var context: ChannelHandlerContext?
    private var outbound = ByteBuffer()
    private var flushScheduled = false
    private var timer: (deadline: NIODeadline, task: Scheduled<Void>)?
    private var pushHandler: ((RESPValue) -> Void)?

    init(commandTimeout: TimeAmount, endpoint: String, logger: Logger) {
        self.commandTimeout = commandTimeout
        self.endpoint = endpoint
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        outbound = context.channel.allocator.buffer(capacity: 4096)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.task.cancel()
        timer = nil
    }

    // MARK: Commands

    func send(_ arguments: [RedisArgument], deadline: RedisCommandDeadline, continuation: UnsafeContinuation<RESPValue, any Error>) {
        let deadline = absoluteDeadline(deadline)
        switch stateMachine.send(.single(continuation), deadline: deadline) {
        case .write:
            encoder.encode(arguments, into: &outbound)
            flushSoon()
            watchHeadDeadline()
        case .fail(let error):
            continuation.resume(throwing: error)
        }
    }

    func pipeline(_ commands: [[RedisArgument]], continuation: UnsafeContinuation<[Result<RESPValue, RedisError>], any Error>) {
        let collector = RedisPipelineCollector(expected: commands.count, continuation: continuation)
        switch stateMachine.send(.pipeline(collector), deadline: absoluteDeadline(.standard)) {
        case .write:
            for command in commands {
                encoder.encode(command, into: &outbound)
            }
            flushSoon()
            watchHeadDeadline()
        case .fail(let error):
            continuation.resume(throwing: error)
        }
    }

    /// Switches to pub/sub: from now on every reply is a push for `handler`, and commands expect no reply of their own.
    func enterPushMode(_ handler: @escaping (RESPValue) -> Void) {
        precondition(stateMachine.pendingCount == 0, "pub/sub mode needs an idle connection")
        pushHandler = handler
    }

    func sendWithoutReply(_ arguments: [RedisArgument]) {
        guard stateMachine.isOpen else { return }
        encoder.encode(arguments, into: &outbound)
        scheduleFlush()
    }

    var isIdle: Bool {
        stateMachine.isOpen && stateMachine.pendingCount == 0
    }

    /// Fails everything pending with `error` and closes the channel.
    func close(with error: any Error) {
        guard let targets = stateMachine.close(with: error) else { return }
        timer?.task.cancel()
        timer = nil
        for target in targets {
            target.fail(error)
        }
        context?.close(promise: nil)
    }

    // MARK: Channel events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if let pushHandler {
            pushHandler(value)
            return
        }
        switch stateMachine.receive(value) {
        case .resume(let continuation, let result):
            continuation.resume(with: result)
            watchHeadDeadline()
        case .completePipeline(let collector):
            collector.continuation.resume(returning: collector.results)
            watchHeadDeadline()
        case .none:
            break
        case .unexpected:
            logger.error("Redis sent a reply nobody asked for; closing the connection", metadata: ["redis.endpoint": "\(endpoint)"])
            close(with: RedisError(kind: .protocolError, message: "\(endpoint) sent a reply without a pending command"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let pending = stateMachine.pendingCount
        close(
            with: RedisError(
                kind: .connectionClosed,
                message: "the connection to \(endpoint) closed with \(pending) command(s) unanswered; they may or may not have run"
            )
        )
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("Redis connection failed", metadata: ["redis.endpoint": "\(endpoint)", "error": "\(error)"])
        if let error = error as? RedisError {
            close(with: error)
        } else {
            close(with: RedisError(kind: .connectionClosed, message: "the connection to \(endpoint) failed: \(error)"))
        }
    }

    // MARK: Writing

    /// A command on an idle connection goes out at once (a lone round trip should not wait a loop tick); while
    /// others are in flight, writes of this tick are gathered and flushed together.
    private func flushSoon() {
        if stateMachine.pendingCount == 1 {
            flush()
        } else {
            scheduleFlush()
        }
    }

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { self.flush() }
    }

    private func flush() {
        flushScheduled = false
        guard let context, outbound.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(outbound), promise: nil)
        if outbound.capacity > Self.retainedOutboundLimit {
            outbound = context.channel.allocator.buffer(capacity: 4096)
        } else {
            outbound.clear()
        }
    }

    // MARK: Timeouts

    private func absoluteDeadline(_ deadline: RedisCommandDeadline) -> NIODeadline {
        switch deadline {
        case .standard: .now() + commandTimeout
        case .extended(let extra): .now() + commandTimeout + extra
        case .none: .distantFuture
        }
    }

    /// Keeps the timer at (or before) the oldest command's deadline.
    private func watchHeadDeadline() {
        guard let deadline = stateMachine.headDeadline, deadline != .distantFuture, let context else { return }
        if let timer {
            guard deadline < timer.deadline else { return }
            timer.task.cancel()
        }
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.timerFired() }
        timer = (deadline, task)
    }

    private func timerFired() {
        timer = nil
        guard let deadline = stateMachine.headDeadline else { return }
        guard deadline <= .now() else {
            watchHeadDeadline()
            return
        }
        let pending = stateMachine.pendingCount
        logger.warning("Redis command timed out; closing the connection", metadata: ["redis.endpoint": "\(endpoint)", "redis.pending": "\(pending)"])
        close(
            with: RedisError(
                kind: .timeout,
                message:
                    "no reply from \(endpoint) within \(commandTimeout.prettyPrint); the connection was closed and its \(pending) pending command(s) failed, since the order of later replies is unknown"
            )
        )
    }
}

extension TimeAmount {
    var prettyPrint: String {
        nanoseconds % 1_000_000_000 == 0 ? "\(nanoseconds / 1_000_000_000)s" : "\(nanoseconds / 1_000_000)ms"
    }
}
