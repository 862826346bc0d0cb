/// What a cluster client knows of where slots live: the last topology read, corrected by `MOVED` replies until the
/// next read.
///
/// A `MOVED` names the one slot's new owner; the rest of the topology may have changed too (a failover moves every
/// slot of a shard), which is why the client refreshes it after one, and why a refresh drops the corrections.
public struct RedisClusterRouter: Sendable {
    /// The last topology read; nil before the first.
    public private(set) var topology: RedisClusterTopology?
    /// Slots a `MOVED` said are elsewhere than `topology` says.
    private var movedSlots: [Int: RedisClusterAddress] = [:]
    /// Which primary keyless commands go to next: spread over all of them rather than loading the first.
    private var nextKeyless = 0

    public init(topology: RedisClusterTopology? = nil) {
        self.topology = topology
    }

    /// The primary a command on `slot` goes to; nil when no node is known to serve it.
    public func address(forSlot slot: Int) -> RedisClusterAddress? {
        movedSlots[slot] ?? topology?.node(forSlot: slot)?.address
    }

    /// A primary for a command without keys, taken in turn; nil before the topology is known.
    public mutating func keylessAddress() -> RedisClusterAddress? {
        let primaries = primaryAddresses
        guard !primaries.isEmpty else { return nil }
        defer { nextKeyless = (nextKeyless + 1) % primaries.count }
        return primaries[nextKeyless % primaries.count]
    }

    /// Every primary that serves slots (empty before the topology is known). A primary without slots is left out:
    /// after a failover the old primary is listed so, failed, until it comes back as a replica.
    public var primaryAddresses: [RedisClusterAddress] {
        topology?.shards.filter { !$0.slots.isEmpty }.map(\.primary.address) ?? []
    }

    /// Records that `slot` now lives at `address`, as a `MOVED` said.
    public mutating func moved(slot: Int, to address: RedisClusterAddress) {
        movedSlots[slot] = address
    }

    /// Takes a freshly read topology; returns the addresses of nodes that have left the cluster as far as it says (to
    /// drop their connections).
    public mutating func refreshed(_ topology: RedisClusterTopology) -> Set<RedisClusterAddress> {
        let before = Set(self.topology?.nodes.map(\.address) ?? [])
        self.topology = topology
        movedSlots = [:]
        return before.subtracting(topology.nodes.map(\.address))
    }
}
