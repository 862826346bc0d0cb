/// Why a cluster topology cannot route: slots outside the cluster, claimed twice, or served by no node.
public enum RedisClusterTopologyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A range reaches outside `0...16383`.
    case slotOutOfRange(ClosedRange<Int>)
    /// Two shards, named by their primaries, both claim these slots.
    case overlappingSlots(ClosedRange<Int>, RedisClusterAddress, RedisClusterAddress)
    /// The same address is a node of two shards, or twice of one.
    case duplicateNode(RedisClusterAddress)
    /// No shard serves these slots (ascending, disjoint): during a resharding or after a shard failed with no replica
    /// to promote. A cluster with `cluster-require-full-coverage yes` refuses every command meanwhile.
    case uncoveredSlots([ClosedRange<Int>])

    public var description: String {
        switch self {
        case .slotOutOfRange(let range):
            "slots \(Self.describe(range)) are outside 0-\(RedisHashSlot.count - 1)"
        case .overlappingSlots(let range, let first, let second):
            "slots \(Self.describe(range)) are claimed by both \(first) and \(second)"
        case .duplicateNode(let address):
            "\(address) appears more than once in the topology"
        case .uncoveredSlots(let ranges):
            "no node serves slots \(ranges.map(Self.describe).joined(separator: ", ")) "
                + "(\(ranges.reduce(0) { $0 + $1.count }) of \(RedisHashSlot.count))"
        }
    }

    /// `5` or `0-99`, as Redis writes slot ranges.
    static func describe(_ range: ClosedRange<Int>) -> String {
        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
    }
}
