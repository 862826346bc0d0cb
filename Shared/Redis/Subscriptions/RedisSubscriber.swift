import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Pub/sub on a connection of its own, kept alive by `run()`.
///
/// `run()` connects, reconnects with backoff whenever the connection is lost, subscribes every channel again and
/// tells every live subscription `.resubscribed` (messages published meanwhile are lost: pub/sub does not keep
/// them). It has the shape of a swift-service-lifecycle `Service`: cancelling its task stops it gracefully and ends
/// every subscription.
///
/// Each subscription (`subscribe(_:)`) buffers up to `bufferSize` messages. When its consumer is slower than the publisher and the
/// buffer is full, that subscription ends by throwing `RedisSubscriptionError.bufferOverflow(channel:)` once the
/// buffered messages are read; other subscriptions are not affected. Memory stays bounded, `overflowCount` counts
/// such endings and each one is logged as a warning. The consumer subscribes again and catches up from history.
public final class RedisSubscriber: Sendable {
    private struct LoopState {
        var stateMachine = RedisSubscriberStateMachine()
        var connection: RedisConnection?
        /// The last error reply on the pub/sub connection, to explain a `SUBSCRIBE` that is never confirmed.
        var lastRefusal: String?
    }

    private struct Status {
        var nextID = 0
        var isConnected = false
        var overflowCount = 0
        var hasRun = false
    }

    /// Channels per `SUBSCRIBE` sent after a reconnect, to keep single commands reasonably small.
    private static let channelsPerCommand = 1000

    public let configuration: RedisConfiguration
    public let bufferSize: Int
    /// The loop its pub/sub connection and every subscription handler run on.
    public let eventLoop: any EventLoop
    private let logger: Logger
    private let loopState: NIOLoopBoundBox<LoopState>
    private let status = NIOLockedValueBox(Status())

    public init(
        configuration: RedisConfiguration,
        bufferSize: Int = 1024,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        precondition(bufferSize > 0, "bufferSize must be at least 1")
        self.configuration = configuration
        self.bufferSize = bufferSize
        self.eventLoop = eventLoopGroup.next()
        self.logger = logger
        self.loopState = .makeBoxSendingValue(LoopState(), eventLoop: eventLoop)
    }

    /// Whether the pub/sub connection is up.
    public var isConnected: Bool {
        status.withLockedValue { $0.isConnected }
    }

    /// How many subscriptions ended because their consumer fell behind.
    public var overflowCount: Int {
        status.withLockedValue { $0.overflowCount }
    }

    // MARK: Subscribing

    /// Subscribes to `channel`; returns once Redis confirmed it, or at once when not connected (the channel is then
    /// subscribed on connect and the subscription first yields `.resubscribed`).
    public func subscribe(_ channel: String) async throws -> RedisSubscription {
        let id = nextID()
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: RedisSubscriptionEvent.self,
            throwing: (any Error).self,
            bufferingPolicy: .bufferingOldest(bufferSize)
        )
        continuation.onTermination = { _ in
            self.eventLoop.execute { self.remove(channel, id: id) }
        }
        try await eventLoop.flatSubmit { self.register(channel, id: id, sink: .stream(continuation)) }.get()
        return RedisSubscription(channel: channel, id: id, stream: stream, subscriber: self)
    }

    /// Subscribes to `channel` with its events given to `handler`, in order, on the subscriber's event loop; returns
    /// as `subscribe(_:)` does. Nothing is buffered for it and no task waits on it: the handler must return at once,
    /// queueing what it is given under a bound of its own. It is told `.ended` once, when the subscription ends
    /// (also when Redis never confirmed it: then this call throws as well).
    public func subscribe(_ channel: String, handler: @escaping @Sendable (RedisSubscriptionUpdate) -> Void) async throws -> RedisPushSubscription {
        let id = nextID()
        try await eventLoop.flatSubmit { self.register(channel, id: id, sink: .handler(handler)) }.get()
        return RedisPushSubscription(channel: channel, id: id, subscriber: self)
    }

    private func nextID() -> Int {
        status.withLockedValue { status in
            defer { status.nextID += 1 }
            return status.nextID
        }
    }

    private func register(_ channel: String, id: Int, sink: RedisSubscriptionSink) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        switch loopState.value.stateMachine.subscribe(channel, id: id, sink: sink, promise: promise) {
        case .ready:
            promise.succeed()
        case .wait(let sendSubscribe):
            if sendSubscribe {
                write(["SUBSCRIBE", RedisArgument(channel)])
            }
            eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.commandTimeout)) {
                self.confirmationTimedOut(channel, id: id)
            }
        case .stopped:
            sink.finish()
            promise.fail(RedisError(kind: .connectionClosed, message: "the Redis subscriber has stopped"))
        }
        return promise.futureResult
    }

    private func confirmationTimedOut(_ channel: String, id: Int) {
        guard let (promise, sink, sendUnsubscribe) = loopState.value.stateMachine.confirmationTimedOut(channel, id: id) else { return }
        let refusal = loopState.value.lastRefusal.map { " (Redis last refused a pub/sub command with: \($0))" } ?? ""
        let error = RedisError(
            kind: .timeout,
            message: "Redis did not confirm SUBSCRIBE \(channel) within \(TimeAmount(configuration.commandTimeout).prettyPrint)\(refusal)"
        )
        sink?.finish(throwing: error)
        promise.fail(error)
        if sendUnsubscribe {
            write(["UNSUBSCRIBE", RedisArgument(channel)])
        }
    }

    func unsubscribe(_ channel: String, id: Int) async {
        try? await eventLoop.submit { self.remove(channel, id: id) }.get()
    }

    private func remove(_ channel: String, id: Int) {
        guard let (sink, sendUnsubscribe) = loopState.value.stateMachine.unsubscribe(channel, id: id) else { return }
        sink.finish()
        if sendUnsubscribe {
            write(["UNSUBSCRIBE", RedisArgument(channel)])
        }
    }

    // MARK: Running

    /// Keeps the pub/sub connection up until the task is cancelled; then ends every subscription and returns.
    public func run() async throws {
        try status.withLockedValue { status in
            guard !status.hasRun else {
                throw RedisError(kind: .connectionClosed, message: "RedisSubscriber.run() can only be called once")
            }
            status.hasRun = true
        }
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await RedisConnection.connect(
                    configuration: configuration,
                    eventLoop: eventLoop,
                    logger: logger,
                    closesOnCancellation: false
                )
                failures = 0
                try await withTaskCancellationHandler {
                    try await eventLoop.submit { self.attach(connection) }.get()
                    logger.info("Redis subscriber connected", metadata: ["redis.url": "\(configuration.url)"])
                    try? await connection.channel.closeFuture.get()
                } onCancel: {
                    connection.channel.close(promise: nil)
                }
                if !Task.isCancelled {
                    logger.warning("Redis subscriber lost its connection; reconnecting", metadata: ["redis.url": "\(configuration.url)"])
                }
                failures = 1
            } catch {
                failures += 1
                logger.warning(
                    "Redis subscriber cannot connect",
                    metadata: ["redis.url": "\(configuration.url)", "error": "\(error)", "redis.attempt": "\(failures)"]
                )
            }
            guard !Task.isCancelled else { break }
            try? await Task.sleep(for: configuration.reconnectBackoff.delay(afterFailures: failures))
        }
        try? await eventLoop.submit { self.stop() }.get()
    }

    private func attach(_ connection: RedisConnection) {
        connection.handler.value.enterPushMode { self.received($0) }
        loopState.value.connection = connection
        let channels = loopState.value.stateMachine.connected()
        status.withLockedValue { $0.isConnected = true }
        var start = 0
        while start < channels.count {
            let end = min(start + Self.channelsPerCommand, channels.count)
            write(["SUBSCRIBE"] + channels[start..<end].map { RedisArgument($0) })
            start = end
        }
        connection.channel.closeFuture.assumeIsolated().whenComplete { _ in
            self.detach(connection)
        }
    }

    private func detach(_ connection: RedisConnection) {
        guard loopState.value.connection === connection else { return }
        loopState.value.connection = nil
        status.withLockedValue { $0.isConnected = false }
        for waiter in loopState.value.stateMachine.disconnected() {
            waiter.succeed()
        }
    }

    private func stop() {
        loopState.value.connection = nil
        status.withLockedValue { $0.isConnected = false }
        let (sinks, waiters) = loopState.value.stateMachine.stop()
        for sink in sinks {
            sink.finish()
        }
        for waiter in waiters {
            waiter.fail(RedisError(kind: .connectionClosed, message: "the Redis subscriber has stopped"))
        }
    }

    private func write(_ command: [RedisArgument]) {
        loopState.value.connection?.handler.value.sendWithoutReply(command)
    }

    // MARK: Pushes

    private func received(_ push: RESPValue) {
        if case .error(let message) = push {
            logger.error("Redis refused a pub/sub command", metadata: ["redis.error": "\(message)"])
            loopState.value.lastRefusal = message
            return
        }
        guard let parts = push.array, let kind = parts.first?.string else {
            logger.warning("unexpected reply on the Redis pub/sub connection", metadata: ["redis.reply": "\(push)"])
            return
        }
        switch kind {
        case "message":
            guard parts.count == 3, let channel = parts[1].string, case .bulkString(let payload) = parts[2] else { return }
            apply(loopState.value.stateMachine.deliver(payload, on: channel), channel: channel)
        case "subscribe":
            guard let channel = parts.count > 1 ? parts[1].string : nil else { return }
            apply(loopState.value.stateMachine.subscribeConfirmed(channel), channel: channel)
        default:
            break
        }
    }

    private func apply(_ outcome: RedisSubscriberStateMachine.Outcome, channel: String) {
        for promise in outcome.ready {
            promise.succeed()
        }
        if !outcome.overflowed.isEmpty {
            let total = status.withLockedValue { status in
                status.overflowCount += outcome.overflowed.count
                return status.overflowCount
            }
            logger.warning(
                "a Redis subscription fell behind its publisher and was ended",
                metadata: ["redis.channel": "\(channel)", "redis.buffer_size": "\(bufferSize)", "redis.overflows": "\(total)"]
            )
            for sink in outcome.overflowed {
                sink.finish(throwing: RedisSubscriptionError.bufferOverflow(channel: channel))
            }
        }
        if outcome.sendUnsubscribe {
            write(["UNSUBSCRIBE", RedisArgument(channel)])
        }
    }
}
