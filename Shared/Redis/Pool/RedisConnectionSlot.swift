import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One multiplexed connection of the pool, reconnected on demand when it is lost.
final class RedisConnectionSlot: Sendable {
    private struct Locked {
        var stateMachine = RedisConnectionSlotStateMachine<RedisConnection, CheckedContinuation<RedisConnection, any Error>>()
        var attempt: Task<Void, Never>?
    }

    private let locked = NIOLockedValueBox(Locked())
    private let configuration: RedisConfiguration
    private let eventLoop: any EventLoop
    private let logger: Logger

    init(configuration: RedisConfiguration, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func connection() async throws -> RedisConnection {
        if let connection = locked.withLockedValue({ $0.stateMachine.openConnection }) {
            return connection
        }
        return try await withCheckedThrowingContinuation { waiter in
            let action = locked.withLockedValue {
                $0.stateMachine.waitForConnection(waiter, backoff: configuration.reconnectBackoff, now: .now)
            }
            switch action {
            case .use(let connection):
                waiter.resume(returning: connection)
            case .wait:
                break
            case .startConnecting(let delay):
                startConnecting(after: delay)
            case .fail:
                waiter.resume(throwing: RedisError.clientClosed)
            }
        }
    }

    private func startConnecting(after delay: Duration) {
        let task = Task { await self.connect(after: delay) }
        let shutDown = locked.withLockedValue { locked in
            locked.attempt = task
            return locked.stateMachine.isShutDown
        }
        if shutDown {
            task.cancel()
        }
    }

    private func connect(after delay: Duration) async {
        do {
            if delay > .zero {
                logger.debug("waiting before reconnecting to Redis", metadata: ["redis.delay": "\(delay)"])
                try await Task.sleep(for: delay)
            }
            let connection = try await RedisConnection.connect(
                configuration: configuration,
                eventLoop: eventLoop,
                logger: logger,
                closesOnCancellation: false
            )
            connection.channel.closeFuture.whenComplete { _ in
                self.locked.withLockedValue { $0.stateMachine.connectionClosed(connection) }
            }
            let action = locked.withLockedValue { $0.stateMachine.connectSucceeded(connection) }
            switch action {
            case .resume(let waiters):
                for waiter in waiters {
                    waiter.resume(returning: connection)
                }
            case .close:
                await connection.close()
            }
        } catch {
            let waiters = locked.withLockedValue { $0.stateMachine.connectFailed(now: .now) }
            let error = error as? RedisError ?? RedisError.clientClosed
            if !waiters.isEmpty {
                logger.warning("cannot connect to Redis", metadata: ["redis.url": "\(configuration.url)", "error": "\(error)"])
            }
            for waiter in waiters {
                waiter.resume(throwing: error)
            }
        }
    }

    /// Refuses further commands and fails those waiting for a connection; returns the connection to close.
    func shutDown() -> RedisConnection? {
        let (waiters, connection, attempt) = locked.withLockedValue { locked in
            let (waiters, connection) = locked.stateMachine.shutDown()
            defer { locked.attempt = nil }
            return (waiters, connection, locked.attempt)
        }
        attempt?.cancel()
        for waiter in waiters {
            waiter.resume(throwing: RedisError.clientClosed)
        }
        return connection
    }
}

extension RedisError {
    static let clientClosed = RedisError(kind: .connectionClosed, message: "the Redis client is closed")
}
