import HeraldTesting
import NIOCore
import Redis
import Testing

/// The cluster building blocks (hash slots, topology, redirects) against a real 3-primary, 3-replica Redis Cluster
/// on loopback, each node spoken to as a plain single-node connection.
@Suite("Cluster foundations", .timeLimit(.minutes(3)))
struct ClusterFoundationTests {
    @Test func hashSlotsTopologyAndRedirectsAgreeWithARealCluster() async throws {
        let started = ContinuousClock.now
        try await withRedisCluster { cluster in
            testLogger.info("Redis Cluster of 6 nodes up in \(ContinuousClock.now - started): \(cluster.seedURL)")
            #expect(cluster.seedURL == "redis+cluster://" + cluster.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ","))
            let connections = try await Self.connect(cluster)
            do {
                try await Self.hashSlotsMatchKeyslot(try #require(connections[cluster.nodes[0].port]))
                let topology = try await Self.topologiesAgree(cluster, connections)
                try await Self.misdirectedCommandsAreMoved(topology, connections)
                try await Self.migratingSlotsAsk(topology, connections)
            } catch {
                for connection in connections.values { await connection.close() }
                throw error
            }
            for connection in connections.values { await connection.close() }
        }
    }

    /// 2,000 keys of every kind: `CLUSTER KEYSLOT` and `RedisHashSlot` give the same slot for each.
    static func hashSlotsMatchKeyslot(_ connection: RedisConnection) async throws {
        var random = SeededGenerator(seed: 0x6B65_7973_6C6F_74)
        let keys = (0..<2000).map { _ in randomKey(&random) }
        let replies = try await connection.pipeline(keys.map { ["CLUSTER", "KEYSLOT", RedisArgument($0)] })
        var mismatches = 0
        for (key, reply) in zip(keys, replies) {
            let serverSlot = try reply.get().int
            if serverSlot != RedisHashSlot.hashSlot(of: key) { mismatches += 1 }
            #expect(serverSlot == RedisHashSlot.hashSlot(of: key), "key \(key)")
        }
        #expect(mismatches == 0)
        // The keys did exercise tags: many land on a slot other than that of the whole key.
        #expect(keys.filter { RedisHashSlot.hashTag(in: $0) != nil }.count > 300)
    }

    /// `CLUSTER SHARDS` and `CLUSTER SLOTS` of every node describe the same cluster: all 16384 slots served by 3
    /// primaries with one replica each, every node of the cluster in it once, roles as the nodes themselves report.
    static func topologiesAgree(_ cluster: RedisClusterProcess, _ connections: [Int: RedisConnection]) async throws -> RedisClusterTopology {
        var topologies: [RedisClusterTopology] = []
        for node in cluster.nodes {
            let connection = try #require(connections[node.port])
            let shards = try RedisClusterTopology(clusterShardsReply: try await connection.send(["CLUSTER", "SHARDS"]), replyingHost: "127.0.0.1")
            let slots = try RedisClusterTopology(clusterSlotsReply: try await connection.send(["CLUSTER", "SLOTS"]), replyingHost: "127.0.0.1")
            try shards.requireFullCoverage()
            try slots.requireFullCoverage()
            // Health is CLUSTER SHARDS's alone, and each node's own view of it.
            #expect(try withoutHealth(shards) == slots, "node \(node.port)")
            topologies.append(slots)
        }
        let topology = topologies[0]
        #expect(topologies.allSatisfy { $0 == topology })

        #expect(topology.shards.count == 3)
        #expect(topology.shards.allSatisfy { $0.replicas.count == 1 })
        #expect(topology.shards.map(\.slotCount).reduce(0, +) == 16_384)
        #expect(Set(topology.nodes.map(\.address)) == Set(cluster.addresses))
        #expect(topology.nodes.count == 6)
        #expect(topology.nodes.allSatisfy { $0.id?.utf8.count == 40 })

        for shard in topology.shards {
            let primaryRole = try await #require(connections[shard.primary.address.port]).send(["ROLE"])
            #expect(primaryRole.array?.first?.string == "master", "\(shard.primary.address)")
            for replica in shard.replicas {
                let replicaRole = try await #require(connections[replica.address.port]).send(["ROLE"])
                #expect(replicaRole.array?.first?.string == "slave", "\(replica.address)")
                #expect(replicaRole.array?[2].int == shard.primary.address.port, "\(replica.address) replicates \(shard.primary.address)")
            }
        }
        return topology
    }

    /// A `GET` sent to a primary (or a replica) that does not serve the key's slot is answered with `MOVED` naming
    /// the primary the topology gives for that slot; the right primary answers it.
    static func misdirectedCommandsAreMoved(_ topology: RedisClusterTopology, _ connections: [Int: RedisConnection]) async throws {
        var random = SeededGenerator(seed: 0x6D6F_7665_64)
        var wrongNodesSeen = Set<RedisClusterAddress>()
        for index in 0..<60 {
            let key = index.isMultiple(of: 3) ? "{user\(index)}.profile" : "key:\(Int.random(in: 0..<1_000_000, using: &random))"
            let slot = RedisHashSlot.hashSlot(of: key)
            let owner = try #require(topology.node(forSlot: slot))
            let wrong = try #require(topology.nodes.filter { $0.address != owner.address }.randomElement(using: &random))
            wrongNodesSeen.insert(wrong.address)

            let error = try await #require(throws: RedisError.self) {
                try await #require(connections[wrong.address.port]).send(["GET", RedisArgument(key)])
            }
            let redirect = try #require(RedisRedirect(error), "\(error)")
            #expect(redirect.kind == .moved)
            #expect(redirect.slot == slot)
            #expect(redirect.address(answeredBy: wrong.address) == owner.address, "\(error) for \(key)")

            let answer = try await #require(connections[owner.address.port]).send(["GET", RedisArgument(key)])
            #expect(answer.isNull)
        }
        // Primaries and replicas both redirected.
        #expect(wrongNodesSeen.count == 6)
    }

    /// While a slot migrates, its source answers a missing key of it with `ASK` naming the target.
    static func migratingSlotsAsk(_ topology: RedisClusterTopology, _ connections: [Int: RedisConnection]) async throws {
        let key = "{ask-me}.key"
        let slot = RedisHashSlot.hashSlot(of: key)
        let source = try #require(topology.node(forSlot: slot))
        let target = try #require(topology.primaries.first { $0.address != source.address })
        let sourceConnection = try #require(connections[source.address.port])
        let targetConnection = try #require(connections[target.address.port])
        _ = try await targetConnection.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "IMPORTING", RedisArgument(try #require(source.id))])
        _ = try await sourceConnection.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "MIGRATING", RedisArgument(try #require(target.id))])

        let error = try await #require(throws: RedisError.self) { try await sourceConnection.send(["GET", RedisArgument(key)]) }
        #expect(RedisRedirect(error) == RedisRedirect(kind: .ask, slot: slot, endpoint: .host("127.0.0.1"), port: target.address.port), "\(error)")
        #expect(RedisRedirect(error)?.address(answeredBy: source.address) == target.address)

        _ = try await sourceConnection.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "STABLE"])
        _ = try await targetConnection.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "STABLE"])
        #expect(try await sourceConnection.send(["GET", RedisArgument(key)]).isNull)
    }

    // MARK: Support

    /// A plain connection to each node, by port.
    static func connect(_ cluster: RedisClusterProcess) async throws -> [Int: RedisConnection] {
        var connections: [Int: RedisConnection] = [:]
        do {
            for node in cluster.nodes {
                connections[node.port] = try await RedisConnection.connect(
                    configuration: RedisConfiguration(url: RedisURL(host: "127.0.0.1", port: node.port)),
                    logger: testLogger
                )
            }
        } catch {
            for connection in connections.values { await connection.close() }
            throw error
        }
        return connections
    }

    /// A key of one of the kinds Herald and its users write: plain text, hash tags in every arrangement the
    /// specification distinguishes, Unicode (composed and decomposed, astral), and arbitrary bytes.
    static func randomKey(_ random: inout SeededGenerator) -> [UInt8] {
        let words = ["user", "herald", "p7", "thread:9f2c", "", "a", "run:01HZX", "{", "}", "{}", "}{", "日本", "é", "🙂", "cafe\u{301}"]
        switch random.next() % 6 {
        case 0:
            let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789:-_.".utf8)
            return (0..<Int.random(in: 0...24, using: &random)).map { _ in random.element(of: alphabet) }
        case 1:
            // Tags: pieces such as "{", "}", "{}" and words in random order.
            return Array((0..<Int.random(in: 1...7, using: &random)).map { _ in random.element(of: words) }.joined().utf8)
        case 2:
            let inner = random.element(of: words.filter { !$0.isEmpty && !$0.contains("{") && !$0.contains("}") })
            return Array("herald:{\(inner)}:\(random.element(of: words)):\(random.next() % 1000)".utf8)
        case 3:
            let scalars = (0..<Int.random(in: 1...12, using: &random)).compactMap { _ -> Unicode.Scalar? in
                let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x24F, 0x300...0x36F, 0x4E00...0x9FFF, 0x1F300...0x1FAFF]
                return Unicode.Scalar(UInt32.random(in: random.element(of: ranges), using: &random))
            }
            return Array(String(String.UnicodeScalarView(scalars)).utf8)
        default:
            // Bytes, braces more often than chance would have them, NUL and invalid UTF-8 included.
            return (0..<Int.random(in: 0...32, using: &random)).map { _ in
                random.chance(0.2) ? random.element(of: [UInt8(ascii: "{"), UInt8(ascii: "}")]) : UInt8.random(in: 0...255, using: &random)
            }
        }
    }

    static func withoutHealth(_ topology: RedisClusterTopology) throws -> RedisClusterTopology {
        func plain(_ node: RedisClusterTopology.Node) -> RedisClusterTopology.Node {
            RedisClusterTopology.Node(id: node.id, address: node.address)
        }
        return try RedisClusterTopology(
            shards: topology.shards.map { RedisClusterTopology.Shard(slots: $0.slots, primary: plain($0.primary), replicas: $0.replicas.map(plain)) }
        )
    }
}
