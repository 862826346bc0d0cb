import Logging
import Redis

/// A private Redis Cluster for one test on 127.0.0.1: `primaries` primaries with `replicasPerPrimary` replicas each
/// (3 and 1 by default), joined by `redis-cli --cluster create`.
///
/// Every node is a `RedisServerProcess` (free port, own directory holding its `nodes.conf`, no persistence, a watchdog
/// that kills it should the test process die), so a test can `kill()` and `restart()` one node as it can a single
/// server. Each node's cluster bus gets a free port of its own (`--cluster-port`) rather than Redis's default, the
/// client port plus 10000: out of range for ports above 55535 (a third of Linux's ephemeral ones), and anyone's to take.
public final class RedisClusterProcess: Sendable {
    /// The nodes in the order they were given to `redis-cli --cluster create` (which decides the roles itself: read
    /// them from the cluster, e.g. with `CLUSTER SHARDS`).
    public let nodes: [RedisServerProcess]
    public let primaryCount: Int
    public let replicasPerPrimary: Int

    /// The seed nodes as Herald takes them: `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…`.
    public var seedURL: String {
        "redis+cluster://" + nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
    }

    /// Each node's address.
    public var addresses: [RedisClusterAddress] {
        nodes.map { RedisClusterAddress(host: "127.0.0.1", port: $0.port) }
    }

    private init(nodes: [RedisServerProcess], primaryCount: Int, replicasPerPrimary: Int) {
        self.nodes = nodes
        self.primaryCount = primaryCount
        self.replicasPerPrimary = replicasPerPrimary
    }

    /// Starts the nodes, creates the cluster and returns once every node sees it whole (`waitUntilHealthy`).
    ///
    /// `nodeTimeout` is `cluster-node-timeout`: how long a node may be unreachable before the cluster marks it failed
    /// and promotes a replica. Redis's 15 s default would make every failover test wait that long; 5 s still leaves
    /// a loaded test machine ample room before a slow node is taken for a dead one.
    public static func start(
        primaries: Int = 3,
        replicasPerPrimary: Int = 1,
        nodeTimeout: Duration = .seconds(5)
    ) async throws -> RedisClusterProcess {
        precondition(primaries >= 3, "redis-cli --cluster create needs at least 3 primaries")
        precondition(replicasPerPrimary >= 0)
        guard let cli = ChildProcess.executablePath(named: "redis-cli") else {
            throw TestSupportError("redis-cli is not in PATH (it comes with the redis-server package, or redis-tools)")
        }
        let nodes = try await startNodes(count: primaries * (1 + replicasPerPrimary), nodeTimeout: nodeTimeout)
        let cluster = RedisClusterProcess(nodes: nodes, primaryCount: primaries, replicasPerPrimary: replicasPerPrimary)
        do {
            try await cluster.create(cli: cli)
            try await cluster.waitUntilHealthy()
            return cluster
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// Stops every node and removes their directories.
    public func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for node in nodes {
                group.addTask { await node.stop() }
            }
        }
    }

    /// The node listening on `port`, if it is one of the cluster's.
    public func node(port: Int) -> RedisServerProcess? {
        nodes.first { $0.port == port }
    }

    /// Waits until every running node reports `cluster_state:ok`, knows every node, sees every slot served by
    /// `primaryCount` primaries each with `replicasPerPrimary` replicas, agrees with the others on all of it, sees
    /// every node's health as `online`, and every replica's link to its primary is up. `redis-cli --cluster create`
    /// returns before the roles have reached every node and before replicas have synced, so `cluster_state:ok`
    /// alone is not enough: `CLUSTER SHARDS` could still show a replica as a primary of its own.
    public func waitUntilHealthy(timeout: Duration = .seconds(60)) async throws {
        let logger = Logger(label: "redis-cluster-process") { _ in SwiftLogNoOpLogHandler() }
        var lastProblem = "no node answered yet"
        do {
            try await waitUntil("the Redis Cluster is healthy", timeout: timeout, interval: .milliseconds(50)) {
                do {
                    try await checkHealth(logger: logger)
                    return true
                } catch let problem as ClusterProblem {
                    lastProblem = problem.description
                    return false
                } catch let error as RedisError {
                    lastProblem = error.description
                    return false
                }
            }
        } catch {
            throw TestSupportError("\(error): \(lastProblem)")
        }
    }

    // MARK: Starting

    private static func startNodes(count: Int, nodeTimeout: Duration) async throws -> [RedisServerProcess] {
        // Side by side, each on its own ports; every outcome is gathered so the nodes that did start are stopped
        // before the first failure is thrown.
        let outcomes = await withTaskGroup(of: (Int, Result<RedisServerProcess, any Error>).self) { group in
            for index in 0..<count {
                group.addTask {
                    do {
                        return (index, .success(try await startNode(nodeTimeout: nodeTimeout)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            return await group.reduce(into: [Result<RedisServerProcess, any Error>?](repeating: nil, count: count)) { $0[$1.0] = $1.1 }
        }
        var nodes: [RedisServerProcess] = []
        var failure: (any Error)?
        for outcome in outcomes {
            switch outcome {
            case .success(let node)?: nodes.append(node)
            case .failure(let error)?: failure = failure ?? error
            case nil: break
            }
        }
        if let failure {
            for node in nodes { await node.stop() }
            throw failure
        }
        return nodes
    }

    private static func startNode(nodeTimeout: Duration) async throws -> RedisServerProcess {
        var attempt = 0
        while true {
            attempt += 1
            let busPort = try RedisServerLaunch.freePort()
            do {
                return try await RedisServerProcess.start(arguments: [
                    "--cluster-enabled", "yes",
                    // Relative to the node's own directory (`--dir`), so nodes never share it.
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-port", String(busPort),
                    "--cluster-node-timeout", String(Int(nodeTimeout / .milliseconds(1))),
                    // A replica's first sync starts at once instead of after the default 5 s wait for more replicas.
                    "--repl-diskless-sync-delay", "0",
                    // Until a replica has received a byte of the replication stream the cluster counts it as not yet
                    // available: `CLUSTER SLOTS` leaves it out and `CLUSTER SHARDS` says `loading`. With no writes,
                    // that byte is the primary's replication PING, every 10 s by default.
                    "--repl-ping-replica-period", "1",
                ])
            } catch RedisServerLaunch.Failure.portInUse where attempt < 5 {
                // The bus port was taken meanwhile (the client port is retried by `RedisServerProcess` itself).
                continue
            }
        }
    }

    /// `redis-cli --cluster create` over the nodes, with `replicasPerPrimary` replicas each and no questions.
    private func create(cli: String) async throws {
        let arguments =
            ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" } + [
                "--cluster-replicas", String(replicasPerPrimary), "--cluster-yes",
            ]
        let process = try ChildProcess.spawn(cli, arguments: arguments, output: .capture())
        let status: Int32
        do {
            // It joins the nodes with CLUSTER MEET and polls, once a second, until they agree: seconds, not minutes.
            status = try await within(120, "redis-cli --cluster create") { await process.waitForExit() }
        } catch {
            process.kill9()
            _ = await process.waitForExit()
            throw TestSupportError("\(error); redis-cli said:\n\(await process.waitForOutputEnd())")
        }
        let output = await process.waitForOutputEnd()
        guard status == 0, output.contains("All 16384 slots covered") else {
            throw TestSupportError("redis-cli \(arguments.joined(separator: " ")) failed (status \(status)):\n\(output)")
        }
    }

    // MARK: Health

    /// Why the cluster is not healthy yet.
    private struct ClusterProblem: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Throws a `ClusterProblem` unless every running node sees the whole cluster, the same way.
    private func checkHealth(logger: Logger) async throws {
        var views: [(port: Int, view: [String])] = []
        for node in nodes where node.isRunning {
            let connection = try await RedisConnection.connect(
                configuration: RedisConfiguration(url: RedisURL(host: "127.0.0.1", port: node.port)),
                logger: logger
            )
            let replies: [Result<RESPValue, RedisError>]
            do {
                replies = try await connection.pipeline([
                    ["CLUSTER", "INFO"], ["CLUSTER", "NODES"], ["INFO", "replication"], ["CLUSTER", "SHARDS"],
                ])
                await connection.close()
            } catch {
                await connection.close()
                throw error
            }
            let texts = try replies[0..<3].map { try $0.get().string ?? "" }
            views.append((node.port, try check(port: node.port, info: texts[0], nodes: texts[1], replication: texts[2])))
            let health = Self.healthValues(try replies[3].get())
            guard health.count == nodes.count, health.allSatisfy({ $0 == "online" }) else {
                throw ClusterProblem("127.0.0.1:\(node.port): CLUSTER SHARDS gives the nodes' health as \(health)")
            }
        }
        if let first = views.first, let differing = views.first(where: { $0.view != first.view }) {
            throw ClusterProblem("127.0.0.1:\(differing.port) sees \(differing.view), 127.0.0.1:\(first.port) sees \(first.view)")
        }
    }

    /// One node's view of the cluster (one line per node: id, address, role, primary, slots) after checking it.
    private func check(port: Int, info: String, nodes clusterNodes: String, replication: String) throws -> [String] {
        let node = "127.0.0.1:\(port)"
        let fields = Self.infoFields(info)
        guard fields["cluster_state"] == "ok" else { throw ClusterProblem("\(node): cluster_state:\(fields["cluster_state"] ?? "?")") }
        guard fields["cluster_known_nodes"] == String(nodes.count), fields["cluster_size"] == String(primaryCount) else {
            throw ClusterProblem("\(node) knows \(fields["cluster_known_nodes"] ?? "?") nodes, \(fields["cluster_size"] ?? "?") primaries with slots")
        }
        let replicationFields = Self.infoFields(replication)
        if replicationFields["role"] == "slave", replicationFields["master_link_status"] != "up" {
            throw ClusterProblem("\(node): the replica's link to its primary is \(replicationFields["master_link_status"] ?? "?")")
        }

        // <id> <ip:port@bus-port> <flags> <primary id or -> <ping> <pong> <epoch> <link> <slot ranges…>
        var view: [String] = []
        var replicasOf: [String: Int] = [:]
        var primariesWithSlots: Set<String> = []
        for line in clusterNodes.split(whereSeparator: \.isNewline) {
            let words = line.split(separator: " ")
            guard words.count >= 8 else { throw ClusterProblem("\(node): unexpected CLUSTER NODES line \(line)") }
            let flags = words[2].split(separator: ",").filter { $0 != "myself" }
            guard flags.allSatisfy({ $0 == "master" || $0 == "slave" }), words[7] == "connected" else {
                throw ClusterProblem("\(node) sees \(words[1]) as \(words[2]), link \(words[7])")
            }
            let slots = words[8...].joined(separator: " ")
            if flags == ["master"], !slots.isEmpty { primariesWithSlots.insert(String(words[0])) }
            if flags == ["slave"] { replicasOf[String(words[3]), default: 0] += 1 }
            view.append("\(words[0]) \(words[1]) \(flags.joined()) \(words[3]) \(slots)")
        }
        guard primariesWithSlots.count == primaryCount,
            primariesWithSlots.allSatisfy({ replicasOf[$0, default: 0] == replicasPerPrimary }),
            replicasOf.values.reduce(0, +) == primaryCount * replicasPerPrimary
        else {
            throw ClusterProblem("\(node) does not see \(primaryCount) primaries with \(replicasPerPrimary) replicas each yet: \(view)")
        }
        return view.sorted()
    }

    /// Every `health` value in a `CLUSTER SHARDS` reply (read here without the client's own topology parsing, so
    /// the harness does not lean on what the tests check).
    private static func healthValues(_ reply: RESPValue) -> [String] {
        func strings(_ value: RESPValue) -> [String] {
            if let elements = value.array { return elements.flatMap(strings) }
            return [value.string ?? ""]
        }
        let all = strings(reply)
        return zip(all, all.dropFirst()).filter { $0.0 == "health" }.map(\.1)
    }

    /// The `name:value` lines of an `INFO` or `CLUSTER INFO` reply.
    private static func infoFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }
}

/// Starts a private Redis Cluster for `body` and always stops it afterwards.
@discardableResult
public func withRedisCluster<T>(
    primaries: Int = 3,
    replicasPerPrimary: Int = 1,
    nodeTimeout: Duration = .seconds(5),
    _ body: (RedisClusterProcess) async throws -> T
) async throws -> T {
    let cluster = try await RedisClusterProcess.start(primaries: primaries, replicasPerPrimary: replicasPerPrimary, nodeTimeout: nodeTimeout)
    do {
        let result = try await body(cluster)
        await cluster.stop()
        return result
    } catch {
        await cluster.stop()
        throw error
    }
}
