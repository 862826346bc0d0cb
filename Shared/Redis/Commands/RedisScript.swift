import Crypto

/// A Lua script run with `EVALSHA`, loaded with `EVAL` when Redis does not know it yet.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    /// Lowercase hex SHA-1 of `source`, the name Redis knows the script by.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// Where a script runs: the client (on any of its pooled connections) or one connection a caller holds.
public protocol RedisScriptRunner: Sendable {
    /// Runs `script` by its SHA-1 and sends the source only when Redis answers `NOSCRIPT`.
    func evalScript(_ script: RedisScript, keys: [String], arguments: [RedisArgument]) async throws -> RESPValue
}

extension RedisClient: RedisScriptRunner {}
extension RedisConnection: RedisScriptRunner {}
