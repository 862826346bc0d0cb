/// A `MOVED` or `ASK` error reply of a cluster node: the slot of the command's key is served elsewhere.
///
/// Redis writes them as `MOVED <slot> <endpoint>:<port>` (and `ASK …`), the endpoint being what the cluster prefers
/// (`cluster-preferred-endpoint-type`): an IP address, an IPv6 one without brackets (`MOVED 3999 ::1:6381`), a host
/// name, nothing (`MOVED 3999 :6381`: the host of the node that answered) or `?` (a host name is preferred but the
/// node has none).
public struct RedisRedirect: Sendable, Hashable, CustomStringConvertible {
    /// What the redirect asks of the client.
    public enum Kind: String, Sendable, Hashable {
        /// The slot now lives at the endpoint: send this and later commands for it there (and refresh the topology).
        case moved = "MOVED"
        /// The slot is migrating: send this one command there, preceded by `ASKING`, and keep the topology.
        case ask = "ASK"
    }

    public var kind: Kind
    public var slot: Int
    public var endpoint: RedisClusterEndpoint
    public var port: Int

    public init(kind: Kind, slot: Int, endpoint: RedisClusterEndpoint, port: Int) {
        self.kind = kind
        self.slot = slot
        self.endpoint = endpoint
        self.port = port
    }

    /// Reads an error reply's message (without the leading `-`); nil unless it is a well-formed `MOVED` or `ASK`,
    /// so anything else stays the ordinary server error it is.
    public init?(serverErrorMessage message: some StringProtocol) {
        let words = message.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 3, let kind = Kind(rawValue: String(words[0])) else { return nil }
        let slotText = words[1]
        guard !slotText.isEmpty, slotText.utf8.count <= 5, slotText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let slot = Int(slotText), RedisHashSlot.all.contains(slot),
            let (host, port) = RedisClusterAddress.parseHostAndPort(Substring(words[2]))
        else { return nil }
        self.init(kind: kind, slot: slot, endpoint: RedisClusterEndpoint(host), port: port)
    }

    /// The redirect an error carries: a `RedisError` of kind `.server` whose message is a `MOVED` or `ASK`.
    public init?(_ error: any Error) {
        guard let error = error as? RedisError, case .server(let message) = error.kind else { return nil }
        self.init(serverErrorMessage: message)
    }

    /// Where to send the command, given the node that answered with the redirect; nil when the endpoint is `?`
    /// (unusable: the client has to find the slot's node in a refreshed topology instead).
    public func address(answeredBy node: RedisClusterAddress) -> RedisClusterAddress? {
        endpoint.address(port: port, replyingHost: node.host)
    }

    /// The error message as Redis writes it.
    public var description: String {
        "\(kind.rawValue) \(slot) \(endpoint):\(port)"
    }
}
