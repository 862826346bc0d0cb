/// Failures of the relay's own making (Redis's own errors pass through as `RedisError`).
public enum RelayError: Error, CustomStringConvertible, Sendable {
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .unexpectedReply(let what): "unexpected reply from Redis: \(what)"
        }
    }
}
