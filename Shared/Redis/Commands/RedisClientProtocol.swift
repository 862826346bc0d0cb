/// What every Redis command is written against: the pooled `RedisClient` and one `RedisConnection` alike.
///
/// Each command (`RedisClientProtocol+Commands.swift`, `+Streams.swift`) is written once, in an extension of this
/// protocol, so the client and a connection a caller holds speak the same commands the same way.
public protocol RedisClientProtocol: Sendable {
    /// Sends one command given as its words, e.g. `send(["SET", "key", "value"])`; an error reply throws
    /// `RedisError` with Redis's message.
    func send(_ arguments: [RedisArgument]) async throws -> RESPValue

    /// Writes all commands in one go on one connection and waits for all their replies; an error reply of one
    /// command is its `.failure`, a lost connection throws.
    func pipeline(_ commands: [[RedisArgument]]) async throws -> [Result<RESPValue, RedisError>]

    /// Runs `body` on a connection that may block for as long as a command asks (`XREAD BLOCK`): the client lends
    /// a dedicated one, a connection is itself.
    func withBlockingConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T

    /// As `withBlockingConnection(_:)`, on a connection to the node serving `key` (which matters on a cluster).
    func withBlockingConnection<T: Sendable>(forKey key: String, _ body: (RedisConnection) async throws -> T) async throws -> T
}

extension RedisClientProtocol {
    /// Sends one command, e.g. `send("SET", key, value)`.
    public func send(_ command: String, _ arguments: any RedisArgumentConvertible...) async throws -> RESPValue {
        var words = [RedisArgument(command)]
        words.reserveCapacity(arguments.count + 1)
        for argument in arguments {
            words.append(argument.redisArgument)
        }
        return try await send(words)
    }
}

extension RedisClient: RedisClientProtocol {
    public func withBlockingConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        try await withDedicatedConnection(body)
    }

    public func withBlockingConnection<T: Sendable>(forKey key: String, _ body: (RedisConnection) async throws -> T) async throws -> T {
        try await withDedicatedConnection(forKey: key, body)
    }
}

extension RedisConnection: RedisClientProtocol {
    public func withBlockingConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        try await body(self)
    }

    public func withBlockingConnection<T: Sendable>(forKey key: String, _ body: (RedisConnection) async throws -> T) async throws -> T {
        try await body(self)
    }
}
