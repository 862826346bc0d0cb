/// An error of the Redis client: an error reply from the server, or a connection, protocol or usage failure.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// Redis answered with an error reply; the associated value is Redis's message, e.g. `WRONGTYPE Operation …`.
        case server(String)
        /// The connection closed (or the client was closed) before the reply arrived.
        case connectionClosed
        /// A command was not answered within the command timeout; its connection was closed.
        case timeout
        /// No connection could be made (refused, unreachable, connect timeout, or `SELECT` refused).
        case connectFailed
        /// Redis refused the credentials from the URL.
        case authenticationFailed
        /// The TLS handshake failed (a `rediss://` connection); the failure says what the two sides disagreed on,
        /// the message (`TLS handshake with host:port failed: …`) what to check.
        case tls(RedisTLSFailure)
        /// Redis sent something that is not RESP.
        case protocolError
        /// The URL is not a valid `redis://` or `rediss://` URL.
        case invalidURL
        /// A reply does not have the shape the caller asked for.
        case decoding
        /// A cluster client refused a command whose keys hash to different slots, before sending it.
        case crossSlot
        /// A cluster client cannot route a command: no node serves its slot, or redirects went on too long.
        case clusterRouting
    }

    public var kind: Kind
    /// A human readable explanation; for `.server` exactly Redis's message.
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// An error reply from Redis.
    public static func server(_ message: String) -> RedisError {
        RedisError(kind: .server(message), message: message)
    }

    /// The first word of a server error (`WRONGTYPE`, `NOSCRIPT`, `BUSYGROUP`), or nil for other errors.
    public var serverErrorPrefix: String? {
        guard case .server(let message) = kind else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
    }

    /// Whether this is an error reply whose first word is `prefix`, e.g. `isServerError(prefix: "NOSCRIPT")`.
    public func isServerError(prefix: String) -> Bool {
        serverErrorPrefix == prefix
    }

    public var description: String {
        switch kind {
        case .server: "Redis error: \(message)"
        case .connectionClosed: "Redis connection closed: \(message)"
        case .timeout: "Redis command timed out: \(message)"
        case .connectFailed: "Redis connect failed: \(message)"
        case .authenticationFailed: "Redis authentication failed: \(message)"
        case .tls: "Redis \(message)"
        case .protocolError: "Redis protocol error: \(message)"
        case .invalidURL: "invalid Redis URL: \(message)"
        case .decoding: "unexpected Redis reply: \(message)"
        case .crossSlot: "Redis cross-slot command refused: \(message)"
        case .clusterRouting: "Redis Cluster routing failed: \(message)"
        }
    }
}
