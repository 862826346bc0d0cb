extension RedisClientProtocol {
    /// Round trip to Redis; throws unless it answers `PONG`.
    public func ping() async throws {
        let reply = try await send(["PING"])
        guard reply.string == "PONG" else { throw RedisError.decoding(reply, as: String.self) }
    }

    /// Publishes `message` on `channel`; returns how many subscribers received it.
    @discardableResult
    public func publish(_ channel: String, _ message: some RedisArgumentConvertible) async throws -> Int {
        try await send(["PUBLISH", RedisArgument(channel), message.redisArgument]).decode()
    }

    /// Runs `script` by its SHA-1 and sends the source only when Redis answers `NOSCRIPT` (after a restart or
    /// `SCRIPT FLUSH`).
    public func evalScript(_ script: RedisScript, keys: [String], arguments: [RedisArgument]) async throws -> RESPValue {
        var tail = [RedisArgument(keys.count)]
        tail.reserveCapacity(1 + keys.count + arguments.count)
        tail.append(contentsOf: keys.map { RedisArgument($0) })
        tail.append(contentsOf: arguments)
        do {
            return try await send(["EVALSHA", RedisArgument(script.sha1)] + tail)
        } catch let error as RedisError where error.isServerError(prefix: "NOSCRIPT") {
            return try await send(["EVAL", RedisArgument(script.source)] + tail)
        }
    }
}
