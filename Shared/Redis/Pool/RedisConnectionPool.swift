import Logging
import NIOConcurrencyHelpers
import NIOCore

/// `poolSize` multiplexed connections taken in turn for ordinary commands, plus dedicated ones for blocking commands.
final class RedisConnectionPool: Sendable {
    private let slots: [RedisConnectionSlot]
    private let nextSlot = NIOLockedValueBox(0)
    let dedicated: RedisDedicatedConnections

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        slots = (0..<configuration.poolSize).map { _ in
            RedisConnectionSlot(configuration: configuration, eventLoop: eventLoopGroup.next(), logger: logger)
        }
        dedicated = RedisDedicatedConnections(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// The next multiplexed connection in turn, (re)connected first when needed.
    func connection() async throws -> RedisConnection {
        let index =
            slots.count == 1
            ? 0
            : nextSlot.withLockedValue { next in
                defer { next = (next + 1) % slots.count }
                return next
            }
        return try await slots[index].connection()
    }

    /// Refuses further commands; returns every open connection for the caller to close.
    func shutDown() -> [RedisConnection] {
        slots.compactMap { $0.shutDown() } + dedicated.shutDown()
    }
}
