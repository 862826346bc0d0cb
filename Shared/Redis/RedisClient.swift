import Logging
import NIOCore
import NIOPosix

/// An async Redis client: a pool of pipelined connections for ordinary commands and dedicated ones for blocking
/// commands, connected on first use and reconnected (with backoff) after a connection is lost.
///
/// When a connection is lost every command in flight on it fails with `RedisError.Kind.connectionClosed`; the next
/// command reconnects. A command issued while a reconnect is under way waits for that attempt and fails with its
/// error if it fails. Pub/sub needs a connection of its own: see `RedisSubscriber`.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    let pool: RedisConnectionPool
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
    }

    /// Sends one command given as its words, e.g. `send(["SET", "key", "value"])`.
    public func send(_ arguments: [RedisArgument]) async throws -> RESPValue {
        try await pool.connection().send(arguments)
    }

    /// Writes all commands in one go on one connection and waits for all their replies; an error reply of one
    /// command is its `.failure`, a lost connection throws.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [Result<RESPValue, RedisError>] {
        try await pool.connection().pipeline(commands)
    }

    /// Runs `body` with a connection nobody else uses meanwhile, for blocking commands (`BLPOP`, `XREADGROUP BLOCK`).
    ///
    /// Afterwards the connection goes back to a small idle list. Cancelling the task while a command waits closes
    /// the connection, so a blocking read ends at once.
    public func withDedicatedConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
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

    /// A client dropped without `close()` still closes its sockets.
    deinit {
        for connection in pool.shutDown() {
            connection.channel.close(promise: nil)
        }
    }

    /// Closes every connection; commands in flight and later ones fail with `.connectionClosed`.
    public func close() async {
        for connection in pool.shutDown() {
            await connection.closeNow(with: RedisError.clientClosed)
        }
    }
}
