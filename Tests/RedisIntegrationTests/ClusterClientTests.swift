import HeraldTesting
import NIOCore
import Redis
import Testing

/// `RedisClient` in cluster mode against a real 3-primary, 3-replica Redis Cluster on loopback: routing by slot,
/// scripts, pipelines split by node, MOVED after a migration, ASK during one, and a primary killed.
@Suite("Cluster client", .timeLimit(.minutes(3)))
struct ClusterClientTests {
    @Test func routesScriptsPipelinesAndRedirects() async throws {
        try await withRedisCluster { cluster in
            let client = RedisClient(configuration: try RedisConfiguration(url: cluster.seedURL), logger: testLogger)
            let connections = try await ClusterFoundationTests.connect(cluster)
            do {
                try await Self.keysOverAllSlotsRoundTrip(client, connections)
                try await Self.hashTaggedScriptsRunAndCrossSlotOnesAreRefused(client, connections)
                try await Self.pipelineOverAllNodesKeepsItsOrder(client)
                try await Self.blockingReadsGoToTheKeysNode(client)
                try await Self.movedAfterAMigrationIsFollowed(client, connections)
                try await Self.askDuringAMigrationIsFollowed(client, connections)
            } catch {
                await Self.close(client, connections)
                throw error
            }
            await Self.close(client, connections)
        }
    }

    @Test func commandsForAKilledPrimarysSlotsSucceedOnceItsReplicaIsPromoted() async throws {
        try await withRedisCluster { cluster in
            let client = RedisClient(configuration: try RedisConfiguration(url: cluster.seedURL), logger: testLogger)
            do {
                let key = "failover:key"
                _ = try await client.send(["SET", RedisArgument(key), "before"])
                let topology = try #require(try await client.clusterTopology())
                let slot = RedisHashSlot.hashSlot(of: key)
                let primary = try #require(topology.shard(forSlot: slot))
                let replica = try #require(primary.replicas.first)
                try await #require(cluster.node(port: primary.primary.address.port)).kill()

                // Commands fail while the cluster notices (cluster-node-timeout), then succeed on the promoted replica.
                try await waitUntil(
                    "a command for slot \(slot) succeeds after its primary was killed",
                    timeout: .seconds(60),
                    interval: .milliseconds(100)
                ) {
                    (try? await client.send(["SET", RedisArgument(key), "after"])) != nil
                }
                #expect(try await client.send(["GET", RedisArgument(key)]).string == "after")
                // Every other slot still works, and the client routes by a topology without the dead node.
                for index in 0..<300 {
                    _ = try await client.send(["SET", RedisArgument("after-failover:\(index)"), RedisArgument(index)])
                }
                try await waitUntil("the client's topology names the promoted replica", timeout: .seconds(30)) {
                    _ = try? await client.send(["GET", RedisArgument(key)])
                    return try await client.clusterTopology()?.node(forSlot: slot)?.address == replica.address
                }
                // The dead node may still be listed (a primary without slots, failed), but serves nothing.
                let after = try #require(try await client.clusterTopology())
                #expect(after.shards.first { $0.primary.address == primary.primary.address }?.slots.isEmpty ?? true)
                try await client.ping()
                for _ in 0..<6 {
                    #expect(try await client.send("TIME").array?.count == 2)
                }
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        }
    }

    // MARK: Steps

    /// 1,000 keys, landing on every primary: each written and read through the client, and each found on the
    /// primary that serves its slot.
    static func keysOverAllSlotsRoundTrip(_ client: RedisClient, _ connections: [Int: RedisConnection]) async throws {
        let keys = (0..<1000).map { "round-trip:\($0)" }
        for (index, key) in keys.enumerated() {
            _ = try await client.send(["SET", RedisArgument(key), RedisArgument(index)])
        }
        for (index, key) in keys.enumerated() {
            #expect(try await client.send(["GET", RedisArgument(key)]).int == index, "\(key)")
            #expect(try await client.send("HSET", "hash:\(key)", "field", index).int == 1)
        }
        let topology = try #require(try await client.clusterTopology())
        var owners = Set<RedisClusterAddress>()
        for (index, key) in keys.enumerated() where index.isMultiple(of: 10) {
            let owner = try #require(topology.node(forSlot: RedisHashSlot.hashSlot(of: key))).address
            owners.insert(owner)
            #expect(try await #require(connections[owner.port]).send(["GET", RedisArgument(key)]).int == index)
        }
        #expect(owners.count == 3)
        #expect(Set(keys.map { RedisHashSlot.hashSlot(of: $0) }).count > 950)
        // Keyless commands answer from some primary.
        try await client.ping()
        #expect(try await client.send("TIME").array?.count == 2)
    }

    /// A script on two keys with one hash tag runs with EVALSHA, loaded by EVAL where a node answers NOSCRIPT (each
    /// primary has its own script cache); SCRIPT LOAD reaches every primary; keys on two slots are refused unsent.
    static func hashTaggedScriptsRunAndCrossSlotOnesAreRefused(_ client: RedisClient, _ connections: [Int: RedisConnection]) async throws {
        let script = RedisScript("redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return redis.call('GET', KEYS[2])")
        let topology = try #require(try await client.clusterTopology())
        // A tag on each primary, so every node's cache starts without the script.
        var tagOfPrimary: [RedisClusterAddress: String] = [:]
        var index = 0
        while tagOfPrimary.count < 3 {
            let tag = "user\(index)"
            let owner = try #require(topology.node(forSlot: RedisHashSlot.hashSlot(of: tag))).address
            if tagOfPrimary[owner] == nil { tagOfPrimary[owner] = tag }
            index += 1
        }
        for (primary, tag) in tagOfPrimary {
            let connection = try #require(connections[primary.port])
            #expect(try await connection.send(["SCRIPT", "EXISTS", RedisArgument(script.sha1)]).array?.first?.int == 0)
            for round in 0..<2 {
                let reply = try await client.evalScript(script, keys: ["{\(tag)}.a", "{\(tag)}.b"], arguments: [RedisArgument("v\(round)")])
                #expect(reply.string == "v\(round)")
            }
            #expect(try await connection.send(["SCRIPT", "EXISTS", RedisArgument(script.sha1)]).array?.first?.int == 1)
            #expect(try await connection.send(["GET", RedisArgument("{\(tag)}.a")]).string == "v1")
        }

        let error = await #expect(throws: RedisError.self) {
            try await client.evalScript(script, keys: ["cross:a", "cross:b"], arguments: ["x"])
        }
        #expect(RedisHashSlot.hashSlot(of: "cross:a") != RedisHashSlot.hashSlot(of: "cross:b"))
        #expect(error?.kind == .crossSlot)
        #expect(error?.message.contains("cross:a (slot \(RedisHashSlot.hashSlot(of: "cross:a")))") == true)
        // Refused before sending: neither key was written anywhere.
        for key in ["cross:a", "cross:b"] {
            let owner = try #require(topology.node(forSlot: RedisHashSlot.hashSlot(of: key))).address
            #expect(try await #require(connections[owner.port]).send(["EXISTS", RedisArgument(key)]).int == 0)
        }
        let pipelined = try await client.pipeline([["GET", "{user0}.a"], ["UNLINK", "cross:a", "cross:b"], ["PING"]])
        #expect(try pipelined[0].get().string == "v1")
        #expect(throws: RedisError.self) { try pipelined[1].get() }
        #expect(try pipelined[2].get().string == "PONG")

        let loaded = RedisScript("return 'loaded everywhere'")
        #expect(try await client.send(["SCRIPT", "LOAD", RedisArgument(loaded.source)]).string == loaded.sha1)
        for primary in topology.primaries {
            let exists = try await #require(connections[primary.address.port]).send(["SCRIPT", "EXISTS", RedisArgument(loaded.sha1)])
            #expect(exists.array?.first?.int == 1, "\(primary.address)")
        }
    }

    /// 5,000 commands of several kinds on keys over every node: each reply is the one for its command.
    static func pipelineOverAllNodesKeepsItsOrder(_ client: RedisClient) async throws {
        var commands: [[RedisArgument]] = []
        var expected: [RESPValue] = []
        for index in 0..<1250 {
            let key = RedisArgument("pipeline:\(index)")
            commands.append(["SET", key, RedisArgument(index)])
            expected.append(.simpleString("OK"))
            commands.append(["INCR", key])
            expected.append(.integer(index + 1))
            commands.append(index.isMultiple(of: 5) ? ["PING"] : ["GET", key])
            expected.append(index.isMultiple(of: 5) ? .simpleString("PONG") : .bulkString(ByteBuffer(string: "\(index + 1)")))
            commands.append(["HSET", RedisArgument("pipeline-hash:\(index % 97)"), key, RedisArgument(index)])
            expected.append(.integer(1))
        }
        #expect(commands.count == 5000)
        let replies = try await client.pipeline(commands)
        #expect(replies.count == 5000)
        var mismatches = 0
        for (position, (reply, wanted)) in zip(replies, expected).enumerated() {
            let value = try reply.get()
            if value != wanted {
                mismatches += 1
                if mismatches < 5 { Issue.record("reply \(position) to \(commands[position]) is \(value), not \(wanted)") }
            }
        }
        #expect(mismatches == 0)
        let topology = try #require(try await client.clusterTopology())
        let nodes = Set(
            commands.compactMap { command in command.count > 1 ? topology.node(forSlot: RedisHashSlot.hashSlot(of: command[1]))?.address : nil }
        )
        #expect(nodes.count == 3)
    }

    /// A blocking stream read runs on a dedicated connection to the node of its stream's slot.
    static func blockingReadsGoToTheKeysNode(_ client: RedisClient) async throws {
        for index in 0..<6 {
            let stream = "blocking-stream:\(index)"
            try await client.xadd(stream, fields: [("n", RedisArgument(index))])
            let reads = try await client.xread(streams: [(key: stream, id: "0-0")], block: .milliseconds(200))
            #expect(reads.first?.entries.count == 1, "\(stream)")
            let nothing = try await client.xread(streams: [(key: stream, id: "$")], block: .milliseconds(20))
            #expect(nothing.isEmpty)
            let node = try await client.withDedicatedConnection(forKey: stream) { connection in
                try await connection.send(["XLEN", RedisArgument(stream)]).int
            }
            #expect(node == 1)
        }
    }

    /// A slot migrated to another primary (`CLUSTER SETSLOT … NODE` and `MIGRATE`): the client is answered MOVED,
    /// follows it, and reads the topology again.
    static func movedAfterAMigrationIsFollowed(_ client: RedisClient, _ connections: [Int: RedisConnection]) async throws {
        let key = "{moving}.key"
        let slot = RedisHashSlot.hashSlot(of: key)
        _ = try await client.send(["SET", RedisArgument(key), "moved value"])
        let topology = try #require(try await client.clusterTopology())
        let source = try #require(topology.node(forSlot: slot))
        let target = try #require(topology.primaries.first { $0.address != source.address })
        try await migrate(slot: slot, keys: [key], from: source, to: target, connections, finish: true)
        let sourceConnection = try #require(connections[source.address.port])
        let movedBefore = try await statistic("errorstat_MOVED", section: "errorstats", on: sourceConnection)

        #expect(try await client.send(["GET", RedisArgument(key)]).string == "moved value")
        // The client was answered MOVED by the source (it still routed by the old topology) and followed it.
        #expect(try await statistic("errorstat_MOVED", section: "errorstats", on: sourceConnection) > movedBefore)
        #expect(try await client.send(["SET", RedisArgument("{moving}.other"), "x"]).string == "OK")
        try await waitUntil("the client's topology has slot \(slot) on \(target.address)", timeout: .seconds(30)) {
            _ = try await client.send(["GET", RedisArgument(key)])
            return try await client.clusterTopology()?.node(forSlot: slot)?.address == target.address
        }
        #expect(try await #require(connections[target.address.port]).send(["GET", RedisArgument("{moving}.other")]).string == "x")
        let replies = try await client.pipeline([["GET", RedisArgument(key)], ["GET", "{moving}.other"]])
        #expect(try replies.map { try $0.get().string } == ["moved value", "x"])
    }

    /// While a slot migrates with its key already on the target, the source answers ASK: the client sends ASKING
    /// and the command there, and keeps routing the slot to the source.
    static func askDuringAMigrationIsFollowed(_ client: RedisClient, _ connections: [Int: RedisConnection]) async throws {
        let key = "{asking}.key"
        let slot = RedisHashSlot.hashSlot(of: key)
        _ = try await client.send(["SET", RedisArgument(key), "asked value"])
        let topology = try #require(try await client.clusterTopology())
        let source = try #require(topology.node(forSlot: slot))
        let target = try #require(topology.primaries.first { $0.address != source.address })
        try await migrate(slot: slot, keys: [key], from: source, to: target, connections, finish: false)

        let sourceConnection = try #require(connections[source.address.port])
        let raw = await #expect(throws: RedisError.self) { try await sourceConnection.send(["GET", RedisArgument(key)]) }
        #expect(raw.flatMap { RedisRedirect($0) }?.kind == .ask)

        let targetConnection = try #require(connections[target.address.port])
        let askingBefore = try await statistic("cmdstat_asking", section: "commandstats", on: targetConnection)
        #expect(try await client.send(["GET", RedisArgument(key)]).string == "asked value")
        #expect(try await statistic("cmdstat_asking", section: "commandstats", on: targetConnection) == askingBefore + 1)
        // A new key of the migrating slot is created on the target too.
        #expect(try await client.send(["SET", RedisArgument("{asking}.new"), "new"]).string == "OK")
        #expect(try await #require(connections[target.address.port]).send(["ASKING"]).string == "OK")
        #expect(try await #require(connections[target.address.port]).send(["GET", "{asking}.new"]).string == "new")
        let replies = try await client.pipeline([["GET", RedisArgument(key)], ["PING"], ["GET", "{asking}.new"]])
        #expect(try replies.map { try $0.get().string } == ["asked value", "PONG", "new"])
        // ASK moves one command, not the slot.
        #expect(try await client.clusterTopology()?.node(forSlot: slot)?.address == source.address)

        for connection in [target, source].compactMap({ connections[$0.address.port] }) {
            _ = try await connection.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "NODE", RedisArgument(try #require(target.id))])
        }
        #expect(try await client.send(["GET", RedisArgument(key)]).string == "asked value")
    }

    // MARK: Support

    /// Moves `keys` of `slot` from `source` to `target` as `redis-cli --cluster reshard` does; with `finish` also
    /// hands the slot over on every primary.
    static func migrate(
        slot: Int,
        keys: [String],
        from source: RedisClusterTopology.Node,
        to target: RedisClusterTopology.Node,
        _ connections: [Int: RedisConnection],
        finish: Bool
    ) async throws {
        let sourceConnection = try #require(connections[source.address.port])
        let targetConnection = try #require(connections[target.address.port])
        let sourceID = RedisArgument(try #require(source.id))
        let targetID = RedisArgument(try #require(target.id))
        #expect(try await targetConnection.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "IMPORTING", sourceID]).string == "OK")
        #expect(try await sourceConnection.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "MIGRATING", targetID]).string == "OK")
        let migrate: [RedisArgument] =
            ["MIGRATE", "127.0.0.1", RedisArgument(target.address.port), "", 0, 5000, "KEYS"] + keys.map { RedisArgument($0) }
        #expect(try await sourceConnection.send(migrate).string == "OK")
        guard finish else { return }
        for connection in [targetConnection, sourceConnection] {
            _ = try await connection.send(["CLUSTER", "SETSLOT", RedisArgument(slot), "NODE", targetID])
        }
    }

    /// The first number of an `INFO section` line such as `errorstat_MOVED:count=3` or `cmdstat_asking:calls=2,…`;
    /// 0 when the line is missing (nothing counted yet).
    static func statistic(_ name: String, section: String, on connection: RedisConnection) async throws -> Int {
        let info = try await connection.send(["INFO", RedisArgument(section)]).string ?? ""
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix(name + ":") }),
            let equals = line.firstIndex(of: "=")
        else { return 0 }
        return Int(line[line.index(after: equals)...].prefix { $0.isNumber }) ?? 0
    }

    static func close(_ client: RedisClient, _ connections: [Int: RedisConnection]) async {
        await client.close()
        for connection in connections.values { await connection.close() }
    }
}
