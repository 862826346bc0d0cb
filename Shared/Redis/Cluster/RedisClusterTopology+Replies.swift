extension RedisClusterTopology {
    /// Reads the RESP2 reply of `CLUSTER SHARDS` (Redis 7.0+), asked of a node at `replyingHost`.
    ///
    /// Each shard is a flat key/value array with `slots` (start and end pairs) and `nodes`, each node again a flat
    /// key/value array (`id`, `port`, `tls-port`, `ip`, `endpoint`, `hostname`, `role`, `health`, …); keys this
    /// client does not know are skipped, so later Redis versions still parse. A node is reached at its `endpoint`
    /// (the cluster's preferred endpoint type): an empty one means `replyingHost`, `?` falls back to its `ip`. With
    /// `tls` its `tls-port` is used where there is one. A shard without a primary and without slots (nothing routes
    /// to it) is left out.
    ///
    /// An error reply throws it as a `RedisError` of kind `.server`; a reply of another shape throws `.decoding`.
    /// Slots may be left uncovered: `requireFullCoverage()` checks that.
    public init(clusterShardsReply reply: RESPValue, replyingHost: String, tls: Bool = false) throws {
        let entries = try Self.array(reply, "CLUSTER SHARDS reply")
        var shards: [Shard] = []
        for entry in entries {
            var slots: [ClosedRange<Int>] = []
            var primaries: [Node] = []
            var replicas: [Node] = []
            for (key, value) in try Self.fields(entry, "CLUSTER SHARDS shard") {
                switch key {
                case "slots":
                    let bounds = try Self.array(value, "CLUSTER SHARDS slots").map { try Self.int($0, "CLUSTER SHARDS slot") }
                    guard bounds.count.isMultiple(of: 2) else { throw Self.malformed("CLUSTER SHARDS slots", value) }
                    for pair in stride(from: 0, to: bounds.count, by: 2) {
                        guard bounds[pair] <= bounds[pair + 1] else { throw Self.malformed("CLUSTER SHARDS slot range", value) }
                        slots.append(bounds[pair]...bounds[pair + 1])
                    }
                case "nodes":
                    for nodeEntry in try Self.array(value, "CLUSTER SHARDS nodes") {
                        let (node, isPrimary) = try Self.shardNode(nodeEntry, replyingHost: replyingHost, tls: tls)
                        if isPrimary { primaries.append(node) } else { replicas.append(node) }
                    }
                default:
                    continue
                }
            }
            guard primaries.count <= 1 else {
                throw RedisError(kind: .decoding, message: "CLUSTER SHARDS: a shard with \(primaries.count) primaries: \(entry)")
            }
            guard let primary = primaries.first else {
                if slots.isEmpty { continue }
                throw RedisError(kind: .decoding, message: "CLUSTER SHARDS: a shard serves slots but has no primary: \(entry)")
            }
            shards.append(Shard(slots: slots, primary: primary, replicas: replicas))
        }
        try self.init(shards: shards)
    }

    /// Reads the RESP2 reply of `CLUSTER SLOTS`, asked of a node at `replyingHost`: the fallback where `CLUSTER
    /// SHARDS` is missing (before Redis 7.0) or refused.
    ///
    /// Each entry is `[start, end, primary, replica…]`, a node being `[endpoint, port, id, metadata]` (id from 4.0,
    /// metadata — `ip`, `hostname` as a flat key/value array — from 7.0). A null or empty endpoint means
    /// `replyingHost`, `?` falls back to the metadata's `ip`. Entries with the same primary (a shard serving several
    /// ranges) become one shard. The port is the one for the kind of connection that asked (TLS or not). Redis
    /// leaves out replicas it counts as unavailable: failed ones, and (7.0) ones that have not yet received a byte of
    /// replication, which in a cluster without writes lasts until the primary's first replication PING.
    ///
    /// Errors as for `init(clusterShardsReply:replyingHost:tls:)`.
    public init(clusterSlotsReply reply: RESPValue, replyingHost: String) throws {
        var shards: [Shard] = []
        // The shard of each primary, by its id when the reply has ids (an address may be reused after a failover).
        var shardOfPrimary: [String: Int] = [:]
        for entry in try Self.array(reply, "CLUSTER SLOTS reply") {
            let parts = try Self.array(entry, "CLUSTER SLOTS entry")
            guard parts.count >= 3 else { throw Self.malformed("CLUSTER SLOTS entry", entry) }
            let start = try Self.int(parts[0], "CLUSTER SLOTS start slot")
            let end = try Self.int(parts[1], "CLUSTER SLOTS end slot")
            guard start <= end else { throw Self.malformed("CLUSTER SLOTS slot range", entry) }
            let primary = try Self.slotsNode(parts[2], replyingHost: replyingHost)
            let replicas = try parts[3...].map { try Self.slotsNode($0, replyingHost: replyingHost) }
            let key = primary.id ?? primary.address.description
            if let index = shardOfPrimary[key] {
                shards[index].slots.append(start...end)
                for replica in replicas where !shards[index].replicas.contains(where: { $0.address == replica.address }) {
                    shards[index].replicas.append(replica)
                }
            } else {
                shardOfPrimary[key] = shards.count
                shards.append(Shard(slots: [start...end], primary: primary, replicas: replicas))
            }
        }
        try self.init(shards: shards)
    }

    // MARK: Nodes

    /// A node of a `CLUSTER SHARDS` shard and whether it is the shard's primary.
    private static func shardNode(_ entry: RESPValue, replyingHost: String, tls: Bool) throws -> (Node, isPrimary: Bool) {
        var id: String?
        var port: Int?
        var tlsPort: Int?
        var ip: String?
        var endpoint: String?
        var role: String?
        var health: Node.Health?
        for (key, value) in try fields(entry, "CLUSTER SHARDS node") {
            switch key {
            case "id": id = try string(value, "CLUSTER SHARDS node id")
            case "port": port = try int(value, "CLUSTER SHARDS node port")
            case "tls-port": tlsPort = try int(value, "CLUSTER SHARDS node tls-port")
            case "ip": ip = try value.isNull ? nil : string(value, "CLUSTER SHARDS node ip")
            case "endpoint": endpoint = try value.isNull ? "" : string(value, "CLUSTER SHARDS node endpoint")
            case "role": role = try string(value, "CLUSTER SHARDS node role")
            case "health": health = value.string.flatMap(Node.Health.init(rawValue:))
            default: continue
            }
        }
        let isPrimary: Bool
        switch role {
        case "master", "primary": isPrimary = true
        case "replica", "slave": isPrimary = false
        default: throw malformed("CLUSTER SHARDS node role", entry)
        }
        guard let chosenPort = tls ? (tlsPort ?? port) : port else {
            throw RedisError(kind: .decoding, message: "CLUSTER SHARDS: a node without a\(tls ? " TLS" : "") port: \(entry)")
        }
        let address = try address(endpoint: endpoint, ip: ip, port: chosenPort, replyingHost: replyingHost, entry: entry)
        return (Node(id: id, address: address, health: health), isPrimary)
    }

    /// A node of a `CLUSTER SLOTS` entry.
    private static func slotsNode(_ value: RESPValue, replyingHost: String) throws -> Node {
        let parts = try array(value, "CLUSTER SLOTS node")
        guard parts.count >= 2 else { throw malformed("CLUSTER SLOTS node", value) }
        let endpoint = try parts[0].isNull ? "" : string(parts[0], "CLUSTER SLOTS node endpoint")
        let port = try int(parts[1], "CLUSTER SLOTS node port")
        let id = try parts.count > 2 ? string(parts[2], "CLUSTER SLOTS node id") : nil
        var ip: String?
        if parts.count > 3 {
            for (key, value) in try fields(parts[3], "CLUSTER SLOTS node metadata") where key == "ip" {
                ip = value.string
            }
        }
        let address = try address(endpoint: endpoint, ip: ip, port: port, replyingHost: replyingHost, entry: value)
        return Node(id: id, address: address)
    }

    /// Where a client reaches a node: its preferred endpoint (empty: the host that answered), else (`?`, or no
    /// endpoint given) its IP (empty: a node that does not know its own address yet, so again the host that answered).
    private static func address(endpoint: String?, ip: String?, port: Int, replyingHost: String, entry: RESPValue) throws -> RedisClusterAddress {
        guard (0...65_535).contains(port) else { throw malformed("node port", entry) }
        if let endpoint, let address = RedisClusterEndpoint(endpoint).address(port: port, replyingHost: replyingHost) {
            return address
        }
        if let ip, let address = RedisClusterEndpoint(ip).address(port: port, replyingHost: replyingHost) {
            return address
        }
        throw RedisError(kind: .decoding, message: "a node with no usable endpoint ('?': host names preferred but none set) and no IP: \(entry)")
    }

    // MARK: Reading RESP

    /// The elements of an array reply; an error reply throws Redis's error.
    private static func array(_ value: RESPValue, _ what: String) throws -> [RESPValue] {
        if case .error(let message) = value { throw RedisError.server(message) }
        guard let elements = value.array else { throw malformed(what, value) }
        return elements
    }

    /// The key/value pairs of a flat array (RESP2's form of a map), keys as text.
    private static func fields(_ value: RESPValue, _ what: String) throws -> [(key: String, value: RESPValue)] {
        let elements = try array(value, what)
        guard elements.count.isMultiple(of: 2) else { throw malformed(what, value) }
        return try stride(from: 0, to: elements.count, by: 2).map { index in
            (try string(elements[index], "\(what) key"), elements[index + 1])
        }
    }

    private static func string(_ value: RESPValue, _ what: String) throws -> String {
        guard let string = value.string else { throw malformed(what, value) }
        return string
    }

    private static func int(_ value: RESPValue, _ what: String) throws -> Int {
        guard let int = value.int else { throw malformed(what, value) }
        return int
    }

    private static func malformed(_ what: String, _ value: RESPValue) -> RedisError {
        RedisError(kind: .decoding, message: "unexpected \(what): \(value)")
    }
}
