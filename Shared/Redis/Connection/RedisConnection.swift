import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to Redis; concurrent commands are pipelined on it and their replies matched in order.
///
/// A command that gets no reply within the command timeout closes the connection and fails every command pending
/// on it. Cancelling a task that waits for a reply does not withdraw the command (it is already on the wire),
/// except on a connection leased by `RedisClient.withDedicatedConnection`, which is then closed. Latency-sensitive
/// callers can run on the connection's event loop with `withTaskExecutorPreference(connection.taskExecutor)`.
public final class RedisConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<RedisCommandHandler>
    let configuration: RedisConfiguration
    let logger: Logger
    private let closesOnCancellation: Bool

    /// The event loop that owns the socket.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Whether the connection is gone (closed by either side, or after a timeout).
    public var isClosed: Bool { !channel.isActive }

    private init(
        channel: any Channel,
        handler: NIOLoopBound<RedisCommandHandler>,
        configuration: RedisConfiguration,
        logger: Logger,
        closesOnCancellation: Bool
    ) {
        self.channel = channel
        self.handler = handler
        self.configuration = configuration
        self.logger = logger
        self.closesOnCancellation = closesOnCancellation
    }

    deinit {
        channel.close(promise: nil)
    }

    /// Connects (over TLS for `rediss://`), authenticates and selects the database of `configuration.url`.
    public static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
        logger: Logger
    ) async throws -> RedisConnection {
        try await connect(configuration: configuration, eventLoop: eventLoop, logger: logger, closesOnCancellation: false)
    }

    static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        logger: Logger,
        closesOnCancellation: Bool
    ) async throws -> RedisConnection {
        let url = configuration.url
        let endpoint = "\(url.host):\(url.port)"
        let commandTimeout = TimeAmount(configuration.commandTimeout)
        let tls = try tlsSettings(of: configuration)
        // Kept outside the pipeline: a TLS handshake can fail and empty the pipeline before `connect` returns, and
        // the handler then still holds the error that closed it.
        let handlerBox = NIOLoopBoundBox.makeEmptyBox(valueType: RedisCommandHandler.self, eventLoop: eventLoop)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandlers(
                                NIOSSLClientHandler(context: tls.settings.context, serverHostname: tls.hostname),
                                RedisTLSHandler(
                                    endpoint: endpoint,
                                    checkedName: tls.checkedName,
                                    tls: tls.settings,
                                    handshakeTimeout: TimeAmount(configuration.connectTimeout)
                                )
                            )
                        }
                        let handler = RedisCommandHandler(commandTimeout: commandTimeout, endpoint: endpoint, logger: logger)
                        handlerBox.value = handler
                        try channel.pipeline.syncOperations.addHandlers(ByteToMessageHandler(RESPReplyDecoder()), handler)
                    }
                }
                .connect(host: url.host, port: url.port)
                .get()
        } catch {
            throw RedisError(kind: .connectFailed, message: "cannot connect to \(endpoint): \(error)")
        }
        let handler = try await eventLoop.submit {
            guard let handler = handlerBox.value else {
                throw RedisError(kind: .connectFailed, message: "cannot connect to \(endpoint): the channel was set up without its handler")
            }
            return NIOLoopBound(handler, eventLoop: eventLoop)
        }.get()
        let connection = RedisConnection(
            channel: channel,
            handler: handler,
            configuration: configuration,
            logger: logger,
            closesOnCancellation: closesOnCancellation
        )
        do {
            try await connection.handshake(confirmTLS: tls != nil)
        } catch {
            await connection.close()
            throw error
        }
        logger.debug("connected to Redis", metadata: ["redis.url": "\(url)"])
        RedisStatistics.connectionOpened()
        return connection
    }

    /// The TLS context and the name checked for a `rediss://` URL; nil for `redis://`. A mismatch between the URL
    /// and the configuration is refused rather than guessed at.
    private static func tlsSettings(of configuration: RedisConfiguration) throws -> (settings: RedisTLS, hostname: String?, checkedName: String)? {
        switch (configuration.url.tls, configuration.tls) {
        case (false, nil):
            return nil
        case (true, let tls?):
            let hostname = tls.hostname(for: configuration.url)
            return (tls, hostname, hostname.map { "'\($0)'" } ?? configuration.url.host)
        case (true, nil):
            throw RedisError(kind: .connectFailed, message: "\(configuration.url) is a TLS URL but the configuration has no RedisTLS")
        case (false, .some):
            throw RedisError(kind: .connectFailed, message: "\(configuration.url) is a plain URL but the configuration has TLS; use rediss://")
        }
    }

    /// Sends AUTH and SELECT as one pipeline, so a fresh connection costs at most one extra round trip.
    ///
    /// Over TLS there is always a round trip (a PING when there is nothing else to send): with TLS 1.3 Redis
    /// refuses a client certificate only after the client has finished its side of the handshake, and that
    /// refusal should fail the connect, not the first command.
    private func handshake(confirmTLS: Bool) async throws {
        let url = configuration.url
        var commands: [[RedisArgument]] = []
        if let password = url.password {
            commands.append(url.username.map { ["AUTH", RedisArgument($0), RedisArgument(password)] } ?? ["AUTH", RedisArgument(password)])
        }
        if url.database != 0 {
            commands.append(["SELECT", RedisArgument(url.database)])
        }
        if commands.isEmpty && confirmTLS {
            // Its reply does not matter (NOAUTH is fine): only that the TLS session carried a round trip.
            commands.append(["PING"])
        }
        guard !commands.isEmpty else { return }
        let results = try await pipeline(commands)
        if url.password != nil, case .failure(let error) = results[0] {
            throw RedisError(kind: .authenticationFailed, message: "\(url) refused the credentials: \(error.message)")
        }
        if url.database != 0, case .failure(let error) = results[results.count - 1] {
            throw RedisError(kind: .connectFailed, message: "\(url): SELECT \(url.database) failed: \(error.message)")
        }
    }

    // MARK: Commands

    /// Sends one command given as its words, e.g. `send(["SET", "key", "value"])`.
    public func send(_ arguments: [RedisArgument]) async throws -> RESPValue {
        try await send(arguments, deadline: .standard)
    }

    func send(_ arguments: [RedisArgument], deadline: RedisCommandDeadline) async throws -> RESPValue {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        let handler = self.handler
        return try await whileCancellable {
            try await withUnsafeThrowingContinuation { continuation in
                handler.onEventLoop { $0.send(arguments, deadline: deadline, continuation: continuation) }
            }
        }
    }

    /// Writes all commands at once and waits for all their replies; an error reply of one command is its
    /// `.failure`, a lost connection throws.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [Result<RESPValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        precondition(commands.allSatisfy { !$0.isEmpty }, "a Redis command needs at least its name")
        let handler = self.handler
        return try await whileCancellable {
            try await withUnsafeThrowingContinuation { continuation in
                handler.onEventLoop { $0.pipeline(commands, continuation: continuation) }
            }
        }
    }

    /// Closes the connection; commands still pending fail with `.connectionClosed`.
    public func close() async {
        await closeNow(with: RedisError(kind: .connectionClosed, message: "the connection was closed by the client"))
    }

    func closeNow(with error: any Error) async {
        let handler = self.handler
        try? await handler.eventLoop.submit { handler.value.close(with: error) }.get()
        try? await channel.closeFuture.get()
    }

    /// Whether the connection is open with nothing in flight, i.e. fit to be lent out again.
    func isIdle() async -> Bool {
        let handler = self.handler
        return (try? await handler.eventLoop.submit { handler.value.isIdle }.get()) ?? false
    }

    private func whileCancellable<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        guard closesOnCancellation else { return try await operation() }
        let handler = self.handler
        return try await withTaskCancellationHandler(operation: operation) {
            handler.eventLoop.execute { handler.value.close(with: CancellationError()) }
        }
    }
}

extension NIOLoopBound<RedisCommandHandler> {
    /// Runs `body` with the handler right away when already on its event loop, else hops there.
    func onEventLoop(_ body: @escaping @Sendable (RedisCommandHandler) -> Void) {
        if eventLoop.inEventLoop {
            body(value)
        } else {
            eventLoop.execute { body(self.value) }
        }
    }
}
