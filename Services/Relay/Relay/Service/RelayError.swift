/// Failures of the relay's own making (Redis's own errors pass through as `RedisError`).
public enum RelayError: Error, CustomStringConvertible, Sendable {
    case unexpectedReply(String)
    /// The partition's lease is no longer this relay's; what the batch held is left to the new holder.
    case leaseLost(partition: Int)

    public var description: String {
        switch self {
        case .unexpectedReply(let what): "unexpected reply from Redis: \(what)"
        case .leaseLost(let partition): "the lease of partition \(partition) is held by another relay"
        }
    }
}
