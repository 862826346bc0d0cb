/// The host part of a node's preferred endpoint as Redis gives it in `CLUSTER SHARDS`, `CLUSTER SLOTS` and `MOVED` /
/// `ASK` redirects, whose value depends on the cluster's `cluster-preferred-endpoint-type`.
public enum RedisClusterEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// A host name or IP address (an IPv6 address without brackets).
    case host(String)
    /// No host (an empty string or a null): the endpoint type is `unknown-endpoint` (nodes behind a load balancer)
    /// or the node does not know its own address yet, and clients reach it on the host they asked, at the port
    /// given with it.
    case sameAsReplyingNode
    /// `?`: host names are preferred but the node has none configured, so its preferred endpoint is unusable.
    case unknown

    /// Reads the endpoint as Redis writes it; `[v6]` loses its brackets.
    public init(_ text: some StringProtocol) {
        if text.isEmpty {
            self = .sameAsReplyingNode
        } else if text == "?" {
            self = .unknown
        } else if text.hasPrefix("["), text.hasSuffix("]"), text.count >= 2 {
            self = .host(String(text.dropFirst().dropLast()))
        } else {
            self = .host(String(text))
        }
    }

    /// The address a client connects to when the reply that named this endpoint came from `replyingHost`; nil for
    /// `.unknown`.
    public func address(port: Int, replyingHost: String) -> RedisClusterAddress? {
        switch self {
        case .host(let host): RedisClusterAddress(host: host, port: port)
        case .sameAsReplyingNode: RedisClusterAddress(host: replyingHost, port: port)
        case .unknown: nil
        }
    }

    /// The endpoint as Redis writes it.
    public var description: String {
        switch self {
        case .host(let host): host
        case .sameAsReplyingNode: ""
        case .unknown: "?"
        }
    }
}
