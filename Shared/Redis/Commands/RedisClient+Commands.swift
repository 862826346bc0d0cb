extension RedisClient {
    /// Round trip to Redis; throws unless it answers `PONG` (what `/readyz` asks).
    public func ping() async throws {
        try await pool.connection().ping()
    }

    /// Publishes `message` on `channel`; returns how many subscribers received it.
    @discardableResult
    public func publish(_ channel: String, _ message: some RedisArgumentConvertible) async throws -> Int {
        try await pool.connection().publish(channel, message)
    }

    /// Runs `script` by its SHA-1 and sends the source only when Redis answers `NOSCRIPT`.
    public func evalScript(_ script: RedisScript, keys: [String], arguments: [RedisArgument]) async throws -> RESPValue {
        try await pool.connection().evalScript(script, keys: keys, arguments: arguments)
    }
}
