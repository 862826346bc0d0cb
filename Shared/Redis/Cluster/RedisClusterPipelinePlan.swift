/// How a pipeline is split by node on a cluster: one batch per primary, each keeping its commands in the order
/// given, and the permutation that puts the batches' replies back in that order.
///
/// Pure logic: the client writes each batch on a connection to its node and hands the replies to `reassemble`.
/// Only commands on the same node keep their relative order when executed (that is all a cluster can promise), which
/// is why commands on one slot must not be reordered within a batch: they are not.
public struct RedisClusterPipelinePlan: Sendable, Hashable {
    /// The commands one node runs.
    public struct Batch: Sendable, Hashable {
        /// The index of the node's shard in the topology's `shards`.
        public var shardIndex: Int
        /// The shard's primary, which serves every slot of the batch.
        public var node: RedisClusterTopology.Node
        /// Positions of the batch's commands in the pipeline, ascending.
        public var commandIndices: [Int]
    }

    /// One batch per node that has commands, in the order the nodes first appear in the pipeline.
    public let batches: [Batch]
    /// For each command, in the order given, where its reply is among the batches' replies laid end to end in
    /// batch order: a permutation of `0..<count`.
    public let replyOrder: [Int]

    /// Plans the commands whose keys have the slots `slots` (nil: the command has no key, like `PING` or `INFO`).
    ///
    /// Keyless commands go to the shard at `keylessShardIndex` when given, otherwise to the shard of the first command
    /// with a key (so they cost no extra node), otherwise to the first shard. Throws
    /// `RedisClusterTopologyError.uncoveredSlots` naming the slots no node serves (or `.slotOutOfRange`) rather than
    /// plan a command nowhere.
    public init(slots: [Int?], topology: RedisClusterTopology, keylessShardIndex: Int? = nil) throws {
        if let keylessShardIndex {
            precondition(topology.shards.indices.contains(keylessShardIndex), "keylessShardIndex \(keylessShardIndex) is not a shard of the topology")
        }
        var shardIndices: [Int?] = []
        shardIndices.reserveCapacity(slots.count)
        var uncovered: [Int] = []
        for slot in slots {
            guard let slot else {
                shardIndices.append(nil)
                continue
            }
            guard RedisHashSlot.all.contains(slot) else { throw RedisClusterTopologyError.slotOutOfRange(slot...slot) }
            let index = topology.shardIndex(forSlot: slot)
            if index == nil { uncovered.append(slot) }
            shardIndices.append(index)
        }
        guard uncovered.isEmpty else { throw RedisClusterTopologyError.uncoveredSlots(Self.ranges(of: uncovered)) }

        let keylessShard: Int? = keylessShardIndex ?? shardIndices.lazy.compactMap { $0 }.first ?? topology.shards.indices.first
        var batchOfShard: [Int: Int] = [:]
        var batches: [Batch] = []
        for (command, shardIndex) in shardIndices.enumerated() {
            guard let shardIndex = shardIndex ?? keylessShard else {
                // Only keyless commands and a topology without a single node.
                throw RedisClusterTopologyError.uncoveredSlots([RedisHashSlot.all])
            }
            if let batch = batchOfShard[shardIndex] {
                batches[batch].commandIndices.append(command)
            } else {
                batchOfShard[shardIndex] = batches.count
                batches.append(Batch(shardIndex: shardIndex, node: topology.shards[shardIndex].primary, commandIndices: [command]))
            }
        }

        var replyOrder = [Int](repeating: 0, count: slots.count)
        var offset = 0
        for batch in batches {
            for (position, command) in batch.commandIndices.enumerated() {
                replyOrder[command] = offset + position
            }
            offset += batch.commandIndices.count
        }
        self.batches = batches
        self.replyOrder = replyOrder
    }

    /// How many commands the pipeline has.
    public var count: Int { replyOrder.count }

    /// The commands of each batch, taken from the pipeline's `commands` (as many as slots were planned).
    public func split<Command>(_ commands: [Command]) -> [[Command]] {
        precondition(commands.count == count, "the plan is for \(count) commands, not \(commands.count)")
        return batches.map { $0.commandIndices.map { commands[$0] } }
    }

    /// The replies in the order the commands were given, from each batch's replies in batch order (`replies[b]`
    /// answering `batches[b]`, as many replies as it has commands).
    public func reassemble<Reply>(_ replies: [[Reply]]) -> [Reply] {
        precondition(replies.count == batches.count, "the plan has \(batches.count) batches, not \(replies.count)")
        for (batch, batchReplies) in zip(batches, replies) {
            precondition(
                batch.commandIndices.count == batchReplies.count,
                "a batch of \(batch.commandIndices.count) commands got \(batchReplies.count) replies"
            )
        }
        let flat = replies.flatMap { $0 }
        return replyOrder.map { flat[$0] }
    }

    /// `slots` as ascending disjoint ranges.
    private static func ranges(of slots: [Int]) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        for slot in Set(slots).sorted() {
            if let last = ranges.last, last.upperBound + 1 == slot {
                ranges[ranges.count - 1] = last.lowerBound...slot
            } else {
                ranges.append(slot...slot)
            }
        }
        return ranges
    }
}
