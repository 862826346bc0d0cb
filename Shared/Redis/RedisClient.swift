import Logging
import NIOCore
import NIOPosix

/// An async Redis client: a pool of pipelined connections for ordinary commands and dedicated ones for blocking
/// commands, connected on first use and reconnected (with backoff) after a connection is lost.
///
/// When a connection is lost every command in flight on it fails with `RedisError.Kind.connectionClosed`; the next
/// command reconnects. A command issued while a reconnect is under way waits for that attempt and fails with its
/// error if it fails. Pub/sub needs a connection of its own: see `RedisSubscriber`.
///
/// A `redis+cluster://` URL makes it a cluster client: each command goes to the primary of its keys' slot (see
/// `RedisCommandKeys`), following `MOVED` and `ASK`; a pipeline is split by node. Sharded pub/sub is not here yet.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    let pool: RedisConnectionPool
    /// Set for a cluster URL; then `pool` (to the first seed) stays unused and opens no connection.
    let cluster: RedisClusterClient?
    /// Where the client's connections log.
    public let logger: Logger

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.logger = logger
        self.pool = RedisConnectionPool(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        self.cluster =
            configuration.url.isCluster
            ? RedisClusterClient(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) : nil
    }

    /// Sends one command given as its words, e.g. `send(["SET", "key", "value"])`.
    ///
    /// On a cluster, a command whose keys hash to different slots fails with `RedisError.Kind.crossSlot` unsent.
    public func send(_ arguments: [RedisArgument]) async throws -> RESPValue {
        if let cluster {
            return try await cluster.send(arguments)
        }
        return try await pool.connection().send(arguments)
    }

    /// Writes all commands in one go on one connection and waits for all their replies; an error reply of one
    /// command is its `.failure`, a lost connection throws.
    ///
    /// On a cluster, one batch per node, written at the same time; replies come back in the order given.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [Result<RESPValue, RedisError>] {
        if let cluster {
            return try await cluster.pipeline(commands)
        }
        return try await pool.connection().pipeline(commands)
    }

    /// Runs `body` with a connection nobody else uses meanwhile, for blocking commands (`BLPOP`, `XREADGROUP BLOCK`).
    ///
    /// Afterwards the connection goes back to a small idle list. Cancelling the task while a command waits closes
    /// the connection, so a blocking read ends at once. On a cluster the connection goes to some primary, which
    /// only suits keyless commands: use `withDedicatedConnection(forKey:_:)`.
    public func withDedicatedConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        if let cluster {
            return try await cluster.withDedicatedConnection(slot: nil, body)
        }
        return try await withSingleNodeDedicatedConnection(body)
    }

    /// Runs `body` with a dedicated connection, as `withDedicatedConnection(_:)`, to the node that serves `key`: on
    /// a cluster, every command on it must be on keys of `key`'s slot (the connection does not follow redirects).
    public func withDedicatedConnection<T: Sendable>(forKey key: String, _ body: (RedisConnection) async throws -> T) async throws -> T {
        if let cluster {
            return try await cluster.withDedicatedConnection(slot: RedisHashSlot.hashSlot(of: key), body)
        }
        return try await withSingleNodeDedicatedConnection(body)
    }

    private func withSingleNodeDedicatedConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        let connection = try await pool.dedicated.lease()
        do {
            let result = try await body(connection)
            await pool.dedicated.release(connection)
            return result
        } catch {
            await pool.dedicated.release(connection)
            throw error
        }
    }

    /// The topology a cluster client routes by, read afresh when nothing is known yet; nil for a single node.
    public func clusterTopology() async throws -> RedisClusterTopology? {
        try await cluster?.topology()
    }

    /// A client dropped without `close()` still closes its sockets.
    deinit {
        for connection in pool.shutDown() + (cluster?.shutDown() ?? []) {
            connection.channel.close(promise: nil)
        }
    }

    /// Closes every connection; commands in flight and later ones fail with `.connectionClosed`.
    public func close() async {
        for connection in pool.shutDown() + (cluster?.shutDown() ?? []) {
            await connection.closeNow(with: RedisError.clientClosed)
        }
    }
}
