import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Connections lent to one user at a time (blocking commands), kept in a small idle list between loans.
final class RedisDedicatedConnections: Sendable {
    private struct State {
        var idle: [RedisConnection] = []
        var lent: [ObjectIdentifier: RedisConnection] = [:]
        var isClosed = false
        var failures = 0
        var lastFailure: ContinuousClock.Instant?
    }

    private let state = NIOLockedValueBox(State())
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    func lease() async throws -> RedisConnection {
        while let connection = try takeIdle() {
            if !connection.isClosed {
                return try lend(connection)
            }
        }
        let delay = state.withLockedValue { state in
            let elapsed = state.lastFailure.map { ContinuousClock.now - $0 } ?? .zero
            return max(.zero, configuration.reconnectBackoff.delay(afterFailures: state.failures) - elapsed)
        }
        if delay > .zero {
            try await Task.sleep(for: delay)
        }
        let connection: RedisConnection
        do {
            connection = try await RedisConnection.connect(
                configuration: configuration,
                eventLoop: eventLoopGroup.next(),
                logger: logger,
                closesOnCancellation: true
            )
            state.withLockedValue { $0.failures = 0 }
        } catch {
            state.withLockedValue { state in
                state.failures += 1
                state.lastFailure = .now
            }
            throw error
        }
        return try lend(connection)
    }

    private func takeIdle() throws -> RedisConnection? {
        try state.withLockedValue { state in
            guard !state.isClosed else { throw RedisError.clientClosed }
            return state.idle.popLast()
        }
    }

    private func lend(_ connection: RedisConnection) throws -> RedisConnection {
        let isClosed = state.withLockedValue { state in
            if !state.isClosed {
                state.lent[ObjectIdentifier(connection)] = connection
            }
            return state.isClosed
        }
        if isClosed {
            connection.channel.close(promise: nil)
            throw RedisError.clientClosed
        }
        return connection
    }

    /// Takes a connection back; one that is closed or still has commands in flight (an abandoned blocking read)
    /// is closed instead of kept.
    func release(_ connection: RedisConnection) async {
        let isIdle = await connection.isIdle()
        let kept = state.withLockedValue { state in
            state.lent[ObjectIdentifier(connection)] = nil
            guard isIdle, !state.isClosed, state.idle.count < configuration.dedicatedConnectionIdleLimit else { return false }
            state.idle.append(connection)
            return true
        }
        if !kept {
            await connection.close()
        }
    }

    /// Refuses further loans; returns every connection, idle or lent, to close.
    func shutDown() -> [RedisConnection] {
        state.withLockedValue { state in
            state.isClosed = true
            defer {
                state.idle = []
                state.lent = [:]
            }
            return state.idle + state.lent.values
        }
    }
}
