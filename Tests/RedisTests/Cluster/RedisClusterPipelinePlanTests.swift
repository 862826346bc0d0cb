import HeraldTesting
import Redis
import Testing

@Suite("RedisClusterPipelinePlan")
struct RedisClusterPipelinePlanTests {
    typealias Node = RedisClusterTopology.Node
    typealias Shard = RedisClusterTopology.Shard

    /// Three shards as `redis-cli --cluster create` lays them out.
    static let threeShards = try! RedisClusterTopology(shards: [
        Shard(slots: [0...5460], primary: node(7001), replicas: [node(7004)]),
        Shard(slots: [5461...10922], primary: node(7002), replicas: [node(7005)]),
        Shard(slots: [10923...16383], primary: node(7003), replicas: [node(7006)]),
    ])

    static func node(_ port: Int) -> Node {
        Node(id: "node-\(port)", address: RedisClusterAddress(host: "127.0.0.1", port: port))
    }

    @Test func groupsByNodeAndReassemblesInOrder() throws {
        // Slots: 12182 ("foo", 7003), 5061 ("bar", 7001), 866 (7001), 8000 (7002), 16383 (7003).
        let slots: [Int?] = [12_182, 5061, nil, 866, 8000, 16_383]
        let plan = try RedisClusterPipelinePlan(slots: slots, topology: Self.threeShards)
        #expect(plan.batches.map(\.node.address.port) == [7003, 7001, 7002])
        #expect(plan.batches.map(\.shardIndex) == [2, 0, 1])
        // The keyless command rides with the first command that has a key.
        #expect(plan.batches.map(\.commandIndices) == [[0, 2, 5], [1, 3], [4]])
        #expect(plan.replyOrder == [0, 3, 1, 4, 5, 2])

        let commands = (0..<slots.count).map { "command \($0)" }
        let batches = plan.split(commands)
        #expect(batches == [["command 0", "command 2", "command 5"], ["command 1", "command 3"], ["command 4"]])
        let replies: [[Result<String, RedisError>]] = batches.map { $0.map { .success("reply to \($0)") } }
        #expect(try plan.reassemble(replies).map { try $0.get() } == commands.map { "reply to \($0)" })
    }

    @Test func keylessCommands() throws {
        let onlyKeyless = try RedisClusterPipelinePlan(slots: [nil, nil], topology: Self.threeShards)
        #expect(onlyKeyless.batches.map(\.shardIndex) == [0])
        #expect(onlyKeyless.batches.map(\.commandIndices) == [[0, 1]])

        let leading = try RedisClusterPipelinePlan(slots: [nil, 9000, nil], topology: Self.threeShards)
        #expect(leading.batches.map(\.shardIndex) == [1])
        #expect(leading.batches.map(\.commandIndices) == [[0, 1, 2]])

        let chosen = try RedisClusterPipelinePlan(slots: [nil, 100, nil], topology: Self.threeShards, keylessShardIndex: 2)
        #expect(chosen.batches.map(\.shardIndex) == [2, 0])
        #expect(chosen.batches.map(\.commandIndices) == [[0, 2], [1]])
        #expect(chosen.reassemble(chosen.split(["a", "b", "c"])) == ["a", "b", "c"])

        let empty = try RedisClusterPipelinePlan(slots: [], topology: Self.threeShards)
        #expect(empty.batches.isEmpty)
        #expect(empty.reassemble([[Int]]()) == [])
    }

    @Test func slotsNoNodeServesAreRefused() throws {
        let partial = try RedisClusterTopology(shards: [Shard(slots: [0...99, 200...16383], primary: Self.node(7001))])
        #expect(throws: RedisClusterTopologyError.uncoveredSlots([100...101, 150...150])) {
            try RedisClusterPipelinePlan(slots: [5, 101, nil, 100, 150, 101, 300], topology: partial)
        }
        #expect(throws: RedisClusterTopologyError.slotOutOfRange(16_384...16_384)) {
            try RedisClusterPipelinePlan(slots: [16_384], topology: partial)
        }
        let none = try RedisClusterTopology(shards: [])
        #expect(throws: RedisClusterTopologyError.uncoveredSlots([0...16_383])) {
            try RedisClusterPipelinePlan(slots: [nil], topology: none)
        }
    }

    /// Random topologies (shards with several ranges, some with none) and random pipelines: every command lands in
    /// the batch of the node that serves its slot, batches keep the pipeline's order, and the replies come back in
    /// the order the commands were given.
    @Test func reassembledOrderEqualsTheOriginal() throws {
        var random = SeededGenerator(seed: 0x706C_616E)
        for round in 0..<300 {
            let topology = try Self.randomTopology(&random)
            let count = Int(random.next() % 200)
            let slots: [Int?] = (0..<count).map { _ in
                random.chance(0.1) ? nil : Int.random(in: RedisHashSlot.all, using: &random)
            }
            let keylessShardIndex = random.chance(0.3) ? Int.random(in: topology.shards.indices, using: &random) : nil
            let plan = try RedisClusterPipelinePlan(slots: slots, topology: topology, keylessShardIndex: keylessShardIndex)
            let context: Comment = "round \(round)"

            #expect(plan.count == count, context)
            #expect(plan.batches.flatMap(\.commandIndices).sorted() == Array(0..<count), context)
            #expect(Set(plan.batches.map(\.shardIndex)).count == plan.batches.count, context)
            #expect(plan.batches.map { $0.commandIndices[0] } == plan.batches.map { $0.commandIndices[0] }.sorted(), context)
            let firstKeyed = slots.compactMap { $0 }.first.flatMap { topology.shardIndex(forSlot: $0) }
            for batch in plan.batches {
                #expect(batch.commandIndices == batch.commandIndices.sorted(), context)
                #expect(batch.node == topology.shards[batch.shardIndex].primary, context)
                for command in batch.commandIndices {
                    if let slot = slots[command] {
                        #expect(topology.shardIndex(forSlot: slot) == batch.shardIndex, context)
                    } else {
                        #expect(batch.shardIndex == keylessShardIndex ?? firstKeyed ?? 0, context)
                    }
                }
            }
            #expect(Set(plan.replyOrder).count == count, context)

            let commands = slots.enumerated().map { "\($0.offset):\($0.element.map(String.init) ?? "-")" }
            let replies = plan.split(commands).map { batch in batch.map { "reply to \($0)" } }
            #expect(plan.reassemble(replies) == commands.map { "reply to \($0)" }, context)
        }
    }

    /// 1 to 6 shards owning the ranges between random cuts of the slot space, so every slot is served; a shard may
    /// own several ranges, or none.
    static func randomTopology(_ random: inout SeededGenerator) throws -> RedisClusterTopology {
        let shardCount = Int.random(in: 1...6, using: &random)
        let cuts = Set((0..<Int.random(in: 0...20, using: &random)).map { _ in Int.random(in: 1...16_383, using: &random) }).sorted()
        var ranges: [[ClosedRange<Int>]] = Array(repeating: [], count: shardCount)
        for (start, end) in zip([0] + cuts, cuts.map { $0 - 1 } + [16_383]) {
            ranges[Int.random(in: 0..<shardCount, using: &random)].append(start...end)
        }
        return try RedisClusterTopology(
            shards: ranges.enumerated().map { index, slots in
                Shard(slots: slots, primary: node(7000 + index), replicas: random.chance(0.5) ? [node(8000 + index)] : [])
            }
        )
    }
}
