/// Which node serves each of a Redis Cluster's 16384 hash slots: its shards, each a primary with its replicas and
/// the slot ranges it serves, as `CLUSTER SHARDS` or `CLUSTER SLOTS` describe them (`+Replies.swift`).
///
/// A value: a refresh builds a new one. Shards are kept in a canonical order (by their first slot; shards without
/// slots last, by address) with their ranges sorted and merged, so two descriptions of the same cluster are equal.
public struct RedisClusterTopology: Sendable, Hashable {
    /// One node of the cluster.
    public struct Node: Sendable, Hashable {
        /// How the node that described the cluster sees this node (`CLUSTER SHARDS` only).
        public enum Health: String, Sendable, Hashable {
            case online
            /// Marked failed by the cluster (`FAIL`); a replica will be promoted if it was a primary.
            case failed
            /// A replica that has not caught up with its primary yet (as far as the describing node knows: one
            /// that has received no writes since it started is shown as loading too).
            case loading
        }

        /// The node's 40-character id; nil when the reply gave none.
        public var id: String?
        public var address: RedisClusterAddress
        /// nil from `CLUSTER SLOTS`, which gives none (and leaves out the replicas it would call failed or loading),
        /// or for a value Redis added later.
        public var health: Health?

        public init(id: String? = nil, address: RedisClusterAddress, health: Health? = nil) {
            self.id = id
            self.address = address
            self.health = health
        }
    }

    /// A primary, its replicas, and the slots the primary serves.
    public struct Shard: Sendable, Hashable {
        /// Ascending, disjoint and not adjacent (adjacent ranges are merged); empty for a primary that serves no slot
        /// (a node just added, or an old primary that has not yet learnt it is now a replica).
        public var slots: [ClosedRange<Int>]
        public var primary: Node
        public var replicas: [Node]

        public init(slots: [ClosedRange<Int>], primary: Node, replicas: [Node] = []) {
            self.slots = slots
            self.primary = primary
            self.replicas = replicas
        }

        /// How many slots the shard serves.
        public var slotCount: Int { slots.reduce(0) { $0 + $1.count } }
    }

    /// Every shard, in canonical order.
    public let shards: [Shard]

    /// For each slot, 1 + the index of its shard, or 0 when no shard serves it: one array read per lookup. At most
    /// 16384 shards hold slots and they come first, so every such index fits.
    private let owners: [UInt16]

    /// Checks that every range lies in `0...16383`, that no slot has two shards and no address two roles; ranges are
    /// sorted and merged and the shards put in canonical order. Slots may be left uncovered: see `uncoveredSlots`.
    public init(shards: [Shard]) throws {
        var addresses = Set<RedisClusterAddress>()
        for node in shards.flatMap({ [$0.primary] + $0.replicas }) {
            guard addresses.insert(node.address).inserted else { throw RedisClusterTopologyError.duplicateNode(node.address) }
        }
        var normalized = try shards.map { shard in
            var shard = shard
            shard.slots = try Self.merged(shard.slots)
            return shard
        }
        normalized.sort { lhs, rhs in
            switch (lhs.slots.first, rhs.slots.first) {
            case (let left?, let right?): left.lowerBound < right.lowerBound
            case (.some, .none): true
            case (.none, .some): false
            case (.none, .none): lhs.primary.address < rhs.primary.address
            }
        }

        var owners = [UInt16](repeating: 0, count: RedisHashSlot.count)
        for (index, shard) in normalized.enumerated() {
            for range in shard.slots {
                for slot in range where owners[slot] != 0 {
                    let other = normalized[Int(owners[slot]) - 1]
                    let overlap = range.clamped(to: other.slots.first { $0.contains(slot) }!)
                    throw RedisClusterTopologyError.overlappingSlots(overlap, other.primary.address, shard.primary.address)
                }
                for slot in range {
                    owners[slot] = UInt16(index + 1)
                }
            }
        }
        self.shards = normalized
        self.owners = owners
    }

    /// The index in `shards` of the shard that serves `slot`; nil when none does or `slot` is outside `0...16383`.
    public func shardIndex(forSlot slot: Int) -> Int? {
        guard RedisHashSlot.all.contains(slot) else { return nil }
        let owner = owners[slot]
        return owner == 0 ? nil : Int(owner) - 1
    }

    /// The shard that serves `slot`, if any.
    public func shard(forSlot slot: Int) -> Shard? {
        shardIndex(forSlot: slot).map { shards[$0] }
    }

    /// The primary that serves `slot`: where a command on a key of that slot goes. nil when no node serves it.
    public func node(forSlot slot: Int) -> Node? {
        shard(forSlot: slot)?.primary
    }

    /// The shard whose primary or one of whose replicas is at `address`, with the node itself.
    public func node(at address: RedisClusterAddress) -> (shardIndex: Int, node: Node)? {
        for (index, shard) in shards.enumerated() {
            if let node = ([shard.primary] + shard.replicas).first(where: { $0.address == address }) {
                return (index, node)
            }
        }
        return nil
    }

    /// Every primary, in shard order.
    public var primaries: [Node] { shards.map(\.primary) }

    /// Every node: each shard's primary, then its replicas.
    public var nodes: [Node] { shards.flatMap { [$0.primary] + $0.replicas } }

    /// The slots no shard serves, as ascending disjoint ranges; empty when the cluster covers all 16384.
    public var uncoveredSlots: [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        var start: Int?
        for slot in RedisHashSlot.all {
            if owners[slot] == 0 {
                if start == nil { start = slot }
            } else if let first = start {
                ranges.append(first...(slot - 1))
                start = nil
            }
        }
        if let first = start { ranges.append(first...(RedisHashSlot.count - 1)) }
        return ranges
    }

    /// Throws `RedisClusterTopologyError.uncoveredSlots` naming every uncovered range unless all 16384 slots are served.
    public func requireFullCoverage() throws {
        let uncovered = uncoveredSlots
        guard uncovered.isEmpty else { throw RedisClusterTopologyError.uncoveredSlots(uncovered) }
    }

    // The slot table follows from the shards, so equality and hashing look at the shards alone.
    public static func == (lhs: RedisClusterTopology, rhs: RedisClusterTopology) -> Bool {
        lhs.shards == rhs.shards
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(shards)
    }

    /// `ranges` sorted, with overlapping or adjacent ones joined; throws for a range outside `0...16383`.
    static func merged(_ ranges: [ClosedRange<Int>]) throws -> [ClosedRange<Int>] {
        if let outside = ranges.first(where: { !RedisHashSlot.all.contains($0.lowerBound) || !RedisHashSlot.all.contains($0.upperBound) }) {
            throw RedisClusterTopologyError.slotOutOfRange(outside)
        }
        var merged: [ClosedRange<Int>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }
}
