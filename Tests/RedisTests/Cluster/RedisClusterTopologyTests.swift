import NIOCore
import Redis
import Testing

@Suite("RedisClusterTopology")
struct RedisClusterTopologyTests {
    typealias Node = RedisClusterTopology.Node
    typealias Shard = RedisClusterTopology.Shard

    // MARK: CLUSTER SHARDS

    @Test func clusterShardsWithReplicas() throws {
        // The shape redis-server 7.0.15 answers with, shards in its (arbitrary) order.
        let reply = RESPValue.array([
            Self.shard(
                slots: [5461, 10922],
                nodes: [
                    Self.shardNode(id: "b", port: 7002, role: "master"),
                    Self.shardNode(id: "e", port: 7005, role: "replica", health: "loading"),
                ]
            ),
            Self.shard(
                slots: [10923, 16383],
                nodes: [
                    Self.shardNode(id: "f", port: 7006, role: "replica"),
                    Self.shardNode(id: "c", port: 7003, role: "master"),
                ]
            ),
            Self.shard(
                slots: [0, 5460],
                nodes: [
                    Self.shardNode(id: "a", port: 7001, role: "master"),
                    Self.shardNode(id: "d", port: 7004, role: "replica", health: "failed"),
                ]
            ),
        ])
        let topology = try RedisClusterTopology(clusterShardsReply: reply, replyingHost: "127.0.0.1")
        try topology.requireFullCoverage()
        #expect(topology.uncoveredSlots.isEmpty)
        #expect(topology.shards.map(\.slots) == [[0...5460], [5461...10922], [10923...16383]])
        #expect(topology.primaries.map(\.address.port) == [7001, 7002, 7003])
        #expect(topology.shards.map { $0.replicas.map(\.address.port) } == [[7004], [7005], [7006]])
        #expect(topology.shards[0].primary == Node(id: "a", address: RedisClusterAddress(host: "127.0.0.1", port: 7001), health: .online))
        #expect(topology.shards[0].replicas[0].health == .failed)
        #expect(topology.shards[1].replicas[0].health == .loading)
        #expect(topology.shards.map(\.slotCount) == [5461, 5462, 5461])
        for (slot, port) in [(0, 7001), (5460, 7001), (5461, 7002), (10922, 7002), (10923, 7003), (16383, 7003), (12182, 7003)] {
            #expect(topology.node(forSlot: slot)?.address.port == port, "slot \(slot)")
        }
        #expect(topology.node(forSlot: -1) == nil)
        #expect(topology.node(forSlot: 16384) == nil)
        #expect(topology.node(at: RedisClusterAddress(host: "127.0.0.1", port: 7005))?.shardIndex == 1)
        #expect(topology.node(at: RedisClusterAddress(host: "127.0.0.1", port: 7005))?.node.id == "e")
        #expect(topology.node(at: RedisClusterAddress(host: "127.0.0.2", port: 7005)) == nil)
        #expect(topology.nodes.count == 6)
    }

    @Test func clusterShardsWithSeveralRangesPerShard() throws {
        let reply = RESPValue.array([
            Self.shard(slots: [0, 99, 200, 299, 100, 199], nodes: [Self.shardNode(id: "a", port: 7001, role: "master")]),
            Self.shard(slots: [300, 16000, 16001, 16383], nodes: [Self.shardNode(id: "b", port: 7002, role: "master")]),
        ])
        let topology = try RedisClusterTopology(clusterShardsReply: reply, replyingHost: "127.0.0.1")
        // Sorted, and adjacent ranges merged.
        #expect(topology.shards.map(\.slots) == [[0...299], [300...16383]])
        try topology.requireFullCoverage()

        let interleaved = RESPValue.array([
            Self.shard(slots: [0, 99, 200, 16383], nodes: [Self.shardNode(id: "a", port: 7001, role: "master")]),
            Self.shard(slots: [100, 199], nodes: [Self.shardNode(id: "b", port: 7002, role: "master")]),
        ])
        let second = try RedisClusterTopology(clusterShardsReply: interleaved, replyingHost: "127.0.0.1")
        #expect(second.shards.map(\.slots) == [[0...99, 200...16383], [100...199]])
        #expect(second.node(forSlot: 99)?.id == "a")
        #expect(second.node(forSlot: 100)?.id == "b")
        #expect(second.node(forSlot: 199)?.id == "b")
        #expect(second.node(forSlot: 200)?.id == "a")
    }

    @Test func gapsAreReportedAsUncoveredRanges() throws {
        let reply = RESPValue.array([
            Self.shard(slots: [1, 5460], nodes: [Self.shardNode(id: "a", port: 7001, role: "master")]),
            Self.shard(slots: [5471, 10922, 10924, 15999], nodes: [Self.shardNode(id: "b", port: 7002, role: "master")]),
        ])
        let topology = try RedisClusterTopology(clusterShardsReply: reply, replyingHost: "127.0.0.1")
        let uncovered: [ClosedRange<Int>] = [0...0, 5461...5470, 10923...10923, 16000...16383]
        #expect(topology.uncoveredSlots == uncovered)
        #expect(topology.node(forSlot: 5465) == nil)
        #expect(throws: RedisClusterTopologyError.uncoveredSlots(uncovered)) { try topology.requireFullCoverage() }
        #expect(
            RedisClusterTopologyError.uncoveredSlots(uncovered).description
                == "no node serves slots 0, 5461-5470, 10923, 16000-16383 (396 of 16384)"
        )

        let empty = try RedisClusterTopology(clusterShardsReply: .array([]), replyingHost: "127.0.0.1")
        #expect(empty.uncoveredSlots == [0...16383])
    }

    @Test func endpointsResolveAsRedisMeansThem() throws {
        let reply = RESPValue.array([
            Self.shard(
                slots: [0, 16383],
                nodes: [
                    // unknown-endpoint: reached on the host that answered.
                    Self.shardNode(id: "a", port: 7001, role: "master", endpoint: ""),
                    // A host name is preferred but none is set: its IP instead.
                    Self.shardNode(id: "b", port: 7002, role: "replica", ip: "10.0.0.2", endpoint: "?"),
                    Self.shardNode(id: "c", port: 7003, role: "replica", ip: "::1", endpoint: "::1"),
                    Self.shardNode(id: "d", port: 7004, role: "replica", ip: "10.0.0.4", endpoint: "redis-4.internal"),
                ]
            )
        ])
        let topology = try RedisClusterTopology(clusterShardsReply: reply, replyingHost: "seed.internal")
        #expect(topology.nodes.map(\.address.description) == ["seed.internal:7001", "10.0.0.2:7002", "[::1]:7003", "redis-4.internal:7004"])

        let unusable = RESPValue.array([
            Self.shard(
                slots: [0, 16383],
                nodes: [Self.fields(["id": .bulk("a"), "port": .integer(1), "endpoint": .bulk("?"), "role": .bulk("master")])]
            )
        ])
        #expect(throws: RedisError.self) { try RedisClusterTopology(clusterShardsReply: unusable, replyingHost: "h") }
    }

    @Test func tlsPortsAreChosenWhenAsked() throws {
        let node = Self.fields([
            "id": .bulk("a"), "port": .integer(6379), "tls-port": .integer(6380), "ip": .bulk("10.0.0.1"),
            "endpoint": .bulk("10.0.0.1"), "role": .bulk("master"),
        ])
        let reply = RESPValue.array([Self.shard(slots: [0, 16383], nodes: [node])])
        #expect(try RedisClusterTopology(clusterShardsReply: reply, replyingHost: "h").primaries[0].address.port == 6379)
        #expect(try RedisClusterTopology(clusterShardsReply: reply, replyingHost: "h", tls: true).primaries[0].address.port == 6380)

        let tlsOnly = RESPValue.array([
            Self.shard(
                slots: [0, 16383],
                nodes: [Self.fields(["id": .bulk("a"), "tls-port": .integer(6380), "endpoint": .bulk("10.0.0.1"), "role": .bulk("master")])]
            )
        ])
        #expect(try RedisClusterTopology(clusterShardsReply: tlsOnly, replyingHost: "h", tls: true).primaries[0].address.port == 6380)
        #expect(throws: RedisError.self) { try RedisClusterTopology(clusterShardsReply: tlsOnly, replyingHost: "h") }
    }

    @Test func unknownFieldsAreSkippedAndSlotlessShardsKept() throws {
        let reply = RESPValue.array([
            Self.shard(slots: [], nodes: [Self.shardNode(id: "z", port: 7009, role: "master")]),
            .array([
                .bulk("future-field"), .array([.integer(1)]),
                .bulk("slots"), .array([.integer(0), .integer(16383)]),
                .bulk("nodes"),
                .array([
                    Self.fields([
                        "id": .bulk("a"), "port": .integer(7001), "ip": .bulk("127.0.0.1"), "endpoint": .bulk("127.0.0.1"),
                        "hostname": .bulk("node-a"), "role": .bulk("master"), "replication-offset": .integer(72_156),
                        "health": .bulk("recovering"), "availability-zone": .bulk("eu-1a"),
                    ])
                ]),
            ]),
            // No primary and no slots: nothing routes to it.
            Self.shard(slots: [], nodes: [Self.shardNode(id: "y", port: 7008, role: "replica")]),
        ])
        let topology = try RedisClusterTopology(clusterShardsReply: reply, replyingHost: "127.0.0.1")
        #expect(topology.shards.map(\.primary.id) == ["a", "z"])
        #expect(topology.shards[1].slots.isEmpty)
        #expect(topology.shards[0].primary.health == nil)
        try topology.requireFullCoverage()
    }

    @Test func malformedShardsRepliesThrow() throws {
        func parse(_ reply: RESPValue) throws -> RedisClusterTopology {
            try RedisClusterTopology(clusterShardsReply: reply, replyingHost: "127.0.0.1")
        }
        let primary = Self.shardNode(id: "a", port: 7001, role: "master")
        #expect(throws: RedisError.server("ERR This instance has cluster support disabled")) {
            try parse(.error("ERR This instance has cluster support disabled"))
        }
        let malformed: [RESPValue] = [
            .bulk("nope"),
            .array([.bulk("slots")]),
            .array([Self.shard(slots: [0], nodes: [primary])]),
            .array([Self.shard(slots: [10, 5], nodes: [primary])]),
            .array([.array([.bulk("slots"), .array([.bulk("x"), .integer(5)]), .bulk("nodes"), .array([primary])])]),
            .array([Self.shard(slots: [0, 16383], nodes: [Self.shardNode(id: "b", port: 7002, role: "replica")])]),
            .array([Self.shard(slots: [0, 16383], nodes: [primary, Self.shardNode(id: "b", port: 7002, role: "master")])]),
            .array([Self.shard(slots: [0, 16383], nodes: [Self.shardNode(id: "a", port: 7001, role: "arbiter")])]),
            .array([Self.shard(slots: [0, 16383], nodes: [Self.fields(["id": .bulk("a"), "endpoint": .bulk("h"), "role": .bulk("master")])])]),
            .array([Self.shard(slots: [0, 16383], nodes: [Self.shardNode(id: "a", port: 70_000, role: "master")])]),
        ]
        for reply in malformed {
            do {
                _ = try parse(reply)
                Issue.record("\(reply) parsed")
            } catch let error as RedisError {
                #expect(error.kind == .decoding, "\(reply): \(error)")
            }
        }
    }

    @Test func inconsistentTopologiesThrow() throws {
        func node(_ port: Int) -> Node { Node(address: RedisClusterAddress(host: "127.0.0.1", port: port)) }
        #expect(throws: RedisClusterTopologyError.slotOutOfRange(16000...16384)) {
            try RedisClusterTopology(shards: [Shard(slots: [0...10, 16000...16384], primary: node(1))])
        }
        #expect(throws: RedisClusterTopologyError.slotOutOfRange(-1...3)) {
            try RedisClusterTopology(shards: [Shard(slots: [-1...3], primary: node(1))])
        }
        #expect(throws: RedisClusterTopologyError.overlappingSlots(100...200, node(1).address, node(2).address)) {
            try RedisClusterTopology(shards: [Shard(slots: [0...200], primary: node(1)), Shard(slots: [100...300], primary: node(2))])
        }
        #expect(throws: RedisClusterTopologyError.duplicateNode(node(1).address)) {
            try RedisClusterTopology(shards: [
                Shard(slots: [0...200], primary: node(1)), Shard(slots: [300...400], primary: node(2), replicas: [node(1)]),
            ])
        }
        // The same ranges twice in one shard are one range, not a conflict.
        let repeated = try RedisClusterTopology(shards: [Shard(slots: [0...16383, 5...10], primary: node(1))])
        #expect(repeated.shards[0].slots == [0...16383])
    }

    // MARK: CLUSTER SLOTS

    @Test func clusterSlotsAgreesWithClusterShards() throws {
        let slots = RESPValue.array([
            Self.slotsEntry(10923, 16383, [Self.slotsNode("127.0.0.1", 7003, "c"), Self.slotsNode("127.0.0.1", 7006, "f")]),
            Self.slotsEntry(0, 5460, [Self.slotsNode("127.0.0.1", 7001, "a"), Self.slotsNode("127.0.0.1", 7004, "d")]),
            Self.slotsEntry(5461, 10922, [Self.slotsNode("127.0.0.1", 7002, "b"), Self.slotsNode("127.0.0.1", 7005, "e")]),
        ])
        let shards = RESPValue.array([
            Self.shard(
                slots: [0, 5460],
                nodes: [Self.shardNode(id: "a", port: 7001, role: "master"), Self.shardNode(id: "d", port: 7004, role: "replica")]
            ),
            Self.shard(
                slots: [5461, 10922],
                nodes: [Self.shardNode(id: "b", port: 7002, role: "master"), Self.shardNode(id: "e", port: 7005, role: "replica")]
            ),
            Self.shard(
                slots: [10923, 16383],
                nodes: [Self.shardNode(id: "c", port: 7003, role: "master"), Self.shardNode(id: "f", port: 7006, role: "replica")]
            ),
        ])
        let fromSlots = try RedisClusterTopology(clusterSlotsReply: slots, replyingHost: "127.0.0.1")
        let fromShards = try RedisClusterTopology(clusterShardsReply: shards, replyingHost: "127.0.0.1")
        #expect(fromSlots.shards.allSatisfy { ([$0.primary] + $0.replicas).allSatisfy { $0.health == nil } })
        #expect(try fromSlots == Self.withoutHealth(fromShards))
        try fromSlots.requireFullCoverage()
    }

    @Test func clusterSlotsEntriesOfOnePrimaryBecomeOneShard() throws {
        let reply = RESPValue.array([
            Self.slotsEntry(0, 99, [Self.slotsNode("10.0.0.1", 7001, "a"), Self.slotsNode("10.0.0.4", 7004, "d")]),
            Self.slotsEntry(100, 199, [Self.slotsNode("10.0.0.2", 7002, "b")]),
            Self.slotsEntry(200, 16383, [Self.slotsNode("10.0.0.1", 7001, "a"), Self.slotsNode("10.0.0.4", 7004, "d")]),
        ])
        let topology = try RedisClusterTopology(clusterSlotsReply: reply, replyingHost: "seed")
        #expect(topology.shards.count == 2)
        #expect(topology.shards[0].slots == [0...99, 200...16383])
        #expect(topology.shards[0].replicas.map(\.id) == ["d"])
        #expect(topology.shards[1].primary.address == RedisClusterAddress(host: "10.0.0.2", port: 7002))
        try topology.requireFullCoverage()
    }

    @Test func clusterSlotsEndpoints() throws {
        let reply = RESPValue.array([
            Self.slotsEntry(
                0,
                16383,
                [
                    // Null endpoint (unknown-endpoint): the host that answered.
                    .array([.null, .integer(7001), .bulk("a"), .array([])]),
                    // "?" with the IP in the metadata.
                    .array([.bulk("?"), .integer(7002), .bulk("b"), .array([.bulk("ip"), .bulk("10.0.0.2")])]),
                    // Before 4.0: no id, no metadata.
                    .array([.bulk("::1"), .integer(7003)]),
                    .array([
                        .bulk("redis-4.internal"), .integer(7004), .bulk("d"),
                        .array([.bulk("ip"), .bulk("10.0.0.4"), .bulk("hostname"), .bulk("redis-4.internal")]),
                    ]),
                ]
            )
        ])
        let topology = try RedisClusterTopology(clusterSlotsReply: reply, replyingHost: "seed.internal")
        #expect(topology.nodes.map(\.address.description) == ["seed.internal:7001", "10.0.0.2:7002", "[::1]:7003", "redis-4.internal:7004"])
        #expect(topology.nodes.map(\.id) == ["a", "b", nil, "d"])
    }

    @Test func clusterSlotsGapsAndErrors() throws {
        let gap = RESPValue.array([
            Self.slotsEntry(0, 5000, [Self.slotsNode("127.0.0.1", 7001, "a")]),
            Self.slotsEntry(6000, 16383, [Self.slotsNode("127.0.0.1", 7002, "b")]),
        ])
        let topology = try RedisClusterTopology(clusterSlotsReply: gap, replyingHost: "127.0.0.1")
        #expect(throws: RedisClusterTopologyError.uncoveredSlots([5001...5999])) { try topology.requireFullCoverage() }

        #expect(throws: RedisError.server("ERR unknown command")) {
            try RedisClusterTopology(clusterSlotsReply: .error("ERR unknown command"), replyingHost: "h")
        }
        let malformed: [RESPValue] = [
            .array([.array([.integer(0), .integer(16383)])]),
            .array([.array([.integer(10), .integer(5), Self.slotsNode("h", 1, "a")])]),
            .array([.array([.integer(0), .integer(16383), .array([.bulk("h")])])]),
            .array([.array([.integer(0), .integer(16383), .array([.bulk("h"), .bulk("port")])])]),
            .array([.array([.integer(0), .integer(16383), .array([.bulk("?"), .integer(1), .bulk("a"), .array([])])])]),
        ]
        for reply in malformed {
            #expect(throws: RedisError.self, "\(reply)") { try RedisClusterTopology(clusterSlotsReply: reply, replyingHost: "h") }
        }
        #expect(
            throws: RedisClusterTopologyError.overlappingSlots(
                50...100,
                RedisClusterAddress(host: "h", port: 1),
                RedisClusterAddress(host: "h", port: 2)
            )
        ) {
            try RedisClusterTopology(
                clusterSlotsReply: .array([
                    Self.slotsEntry(0, 100, [Self.slotsNode("h", 1, "a")]), Self.slotsEntry(50, 16383, [Self.slotsNode("h", 2, "b")]),
                ]),
                replyingHost: "h"
            )
        }
    }

    // MARK: Building replies

    static func fields(_ pairs: KeyValuePairs<String, RESPValue>) -> RESPValue {
        .array(pairs.flatMap { [RESPValue.bulk($0.key), $0.value] })
    }

    static func shard(slots: [Int], nodes: [RESPValue]) -> RESPValue {
        fields(["slots": .array(slots.map { .integer($0) }), "nodes": .array(nodes)])
    }

    static func shardNode(
        id: String,
        port: Int,
        role: String,
        ip: String = "127.0.0.1",
        endpoint: String? = nil,
        health: String = "online"
    ) -> RESPValue {
        fields([
            "id": .bulk(id), "port": .integer(port), "ip": .bulk(ip), "endpoint": .bulk(endpoint ?? ip), "role": .bulk(role),
            "replication-offset": .integer(0), "health": .bulk(health),
        ])
    }

    static func slotsEntry(_ start: Int, _ end: Int, _ nodes: [RESPValue]) -> RESPValue {
        .array([.integer(start), .integer(end)] + nodes)
    }

    static func slotsNode(_ endpoint: String, _ port: Int, _ id: String) -> RESPValue {
        .array([.bulk(endpoint), .integer(port), .bulk(id), .array([])])
    }

    static func withoutHealth(_ topology: RedisClusterTopology) throws -> RedisClusterTopology {
        func plain(_ node: Node) -> Node { Node(id: node.id, address: node.address) }
        return try RedisClusterTopology(
            shards: topology.shards.map { Shard(slots: $0.slots, primary: plain($0.primary), replicas: $0.replicas.map(plain)) }
        )
    }
}

extension RESPValue {
    static func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }
}
