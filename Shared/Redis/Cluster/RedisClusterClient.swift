import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The cluster half of `RedisClient`: a connection pool per node, commands routed by the slot of their keys,
/// `MOVED` and `ASK` followed, and the topology read again after a redirect or a lost node.
final class RedisClusterClient: Sendable {
    /// How many redirects one command follows before it fails: a slot moves at most a couple of times in a row
    /// while a cluster is being resharded, so more means the nodes disagree.
    static let maximumRedirects = 5

    /// The least time between two reads of the topology started in the background: a resharding answers many
    /// commands with MOVED at once, and one read every so often is enough to catch up with it.
    static let backgroundRefreshInterval = Duration.milliseconds(100)

    private struct State {
        var router = RedisClusterRouter()
        var pools: [RedisClusterAddress: RedisConnectionPool] = [:]
        var refresh: Task<RedisClusterTopology, any Error>?
        /// When the last read of the topology ended, to space out the reads redirects ask for.
        var lastRefresh: ContinuousClock.Instant?
        var isClosed = false
    }

    private let state = NIOLockedValueBox(State())
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        precondition(configuration.url.isCluster, "a cluster client needs a redis+cluster:// URL")
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    // MARK: Commands

    func send(_ arguments: [RedisArgument]) async throws -> RESPValue {
        switch RedisCommandKeys.positions(of: arguments) {
        case .everyPrimary:
            return try await sendToEveryPrimary(arguments)
        case .keyless:
            return try await send(arguments, slot: nil)
        case .keys:
            return try await send(arguments, slot: try RedisCommandKeys.slot(of: arguments))
        }
    }

    /// Sends `arguments` to the node of `slot` (any primary when nil), following redirects.
    private func send(_ arguments: [RedisArgument], slot: Int?) async throws -> RESPValue {
        // Where the last redirect said to go, and whether it was an ASK (one command, preceded by ASKING).
        var redirect: (address: RedisClusterAddress, asking: Bool)?
        var retriedConnect = false
        var redirects = 0
        while true {
            let address: RedisClusterAddress
            if let redirect {
                address = redirect.address
            } else {
                address = try await self.address(forSlot: slot)
            }
            do {
                let connection = try await pool(for: address).connection()
                if redirect?.asking == true {
                    let replies = try await connection.pipeline([["ASKING"], arguments])
                    return try replies[1].get()
                }
                return try await connection.send(arguments)
            } catch let error as RedisError {
                if let next = RedisRedirect(error) {
                    redirects += 1
                    guard redirects <= Self.maximumRedirects else {
                        throw RedisError(
                            kind: .clusterRouting,
                            message: "\(arguments.first?.description ?? "") was redirected more than \(Self.maximumRedirects) times, last: \(next)"
                        )
                    }
                    redirect = try await target(of: next, answeredBy: address)
                    continue
                }
                switch error.kind {
                case .connectFailed where !retriedConnect:
                    // Nothing was sent: read the topology again (the node may have been replaced) and try once more.
                    retriedConnect = true
                    redirect = nil
                    _ = try? await refreshTopology()
                    continue
                case .connectFailed, .connectionClosed, .timeout:
                    refreshInBackground()
                default:
                    break
                }
                throw error
            }
        }
    }

    /// Where a redirect sends the command; a `MOVED` also corrects the slot's owner and refreshes the topology.
    private func target(of redirect: RedisRedirect, answeredBy node: RedisClusterAddress) async throws -> (RedisClusterAddress, Bool) {
        var address = redirect.address(answeredBy: node)
        if address == nil {
            // `?`: the endpoint is unusable, so only a fresh topology says where the slot is.
            address = try await refreshTopology().node(forSlot: redirect.slot)?.address
        }
        guard let address else {
            throw RedisError(kind: .clusterRouting, message: "\(redirect) names no usable node and the topology has none for the slot")
        }
        if redirect.kind == .moved {
            state.withLockedValue { $0.router.moved(slot: redirect.slot, to: address) }
            refreshInBackground()
        }
        return (address, redirect.kind == .ask)
    }

    /// `SCRIPT LOAD` and `SCRIPT FLUSH` change every primary; the first primary's reply is returned (all agree).
    private func sendToEveryPrimary(_ arguments: [RedisArgument]) async throws -> RESPValue {
        _ = try await topology()
        let primaries = state.withLockedValue { $0.router.primaryAddresses }
        var first: RESPValue?
        for address in primaries {
            do {
                let reply = try await pool(for: address).connection().send(arguments)
                if first == nil { first = reply }
            } catch let error as RedisError where error.kind == .connectFailed || error.kind == .connectionClosed {
                refreshInBackground()
                throw error
            }
        }
        guard let first else { throw RedisError(kind: .clusterRouting, message: "the cluster has no primary") }
        return first
    }

    /// Splits the commands by node (`RedisClusterPipelinePlan`), writes each node's batch on one of its connections
    /// at the same time, and puts the replies back in order.
    ///
    /// A command whose keys span slots gets its `.failure` without being sent. A command redirected (`MOVED`, `ASK`)
    /// is sent again on its own once the batches are back, so it runs after the commands that followed it on its
    /// new node: the same as on a cluster whose slot moved a moment later. `SCRIPT LOAD` in a pipeline goes to one
    /// node only; send it alone to load it everywhere.
    func pipeline(_ commands: [[RedisArgument]]) async throws -> [Result<RESPValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        var results = [Result<RESPValue, RedisError>?](repeating: nil, count: commands.count)
        var planned: [Int] = []
        var slots: [Int?] = []
        planned.reserveCapacity(commands.count)
        slots.reserveCapacity(commands.count)
        for (index, command) in commands.enumerated() {
            do {
                slots.append(try RedisCommandKeys.slot(of: command))
                planned.append(index)
            } catch let error as RedisError {
                results[index] = .failure(error)
            }
        }
        if !planned.isEmpty {
            let topology = try await self.topology()
            let plan: RedisClusterPipelinePlan
            do {
                plan = try RedisClusterPipelinePlan(slots: slots, topology: topology)
            } catch let error as RedisClusterTopologyError {
                refreshInBackground()
                throw RedisError(kind: .clusterRouting, message: "\(error)")
            }
            let batches = plan.split(planned.map { commands[$0] })
            let replies = try await withThrowingTaskGroup(of: (Int, [Result<RESPValue, RedisError>]).self) { group in
                for (number, batch) in plan.batches.enumerated() {
                    let pool = try self.pool(for: batch.node.address)
                    let commands = batches[number]
                    group.addTask { (number, try await pool.connection().pipeline(commands)) }
                }
                var replies = [[Result<RESPValue, RedisError>]](repeating: [], count: plan.batches.count)
                do {
                    for try await (number, batchReplies) in group {
                        replies[number] = batchReplies
                    }
                } catch {
                    refreshInBackground()
                    throw error
                }
                return replies
            }
            for (position, reply) in plan.reassemble(replies).enumerated() {
                results[planned[position]] = reply
            }
        }
        for index in results.indices {
            guard case .failure(let error) = results[index], RedisRedirect(error) != nil else { continue }
            do {
                results[index] = .success(try await send(commands[index]))
            } catch let error as RedisError where error.kind.isServer {
                results[index] = .failure(error)
            }
        }
        return results.map { $0! }
    }

    // MARK: Dedicated connections

    /// Runs `body` with a dedicated connection to the primary of `slot` (any primary when nil).
    ///
    /// The connection is a plain one: commands on it are not routed, so they must all be on keys of that slot.
    func withDedicatedConnection<T: Sendable>(slot: Int?, _ body: (RedisConnection) async throws -> T) async throws -> T {
        let pool = try await pool(for: address(forSlot: slot))
        let connection: RedisConnection
        do {
            connection = try await pool.dedicated.lease()
        } catch let error as RedisError {
            if error.kind == .connectFailed { refreshInBackground() }
            throw error
        }
        do {
            let result = try await body(connection)
            await pool.dedicated.release(connection)
            return result
        } catch {
            await pool.dedicated.release(connection)
            if let error = error as? RedisError, error.kind == .connectionClosed || RedisRedirect(error) != nil {
                refreshInBackground()
            }
            throw error
        }
    }

    // MARK: Topology

    /// The primary for `slot`, or any primary for nil; reads the topology first when it is not known yet.
    private func address(forSlot slot: Int?) async throws -> RedisClusterAddress {
        if let address = routerAddress(forSlot: slot) {
            return address
        }
        _ = try await topology()
        if let address = routerAddress(forSlot: slot) {
            return address
        }
        refreshInBackground()
        throw RedisError(kind: .clusterRouting, message: "no node of the cluster serves slot \(slot.map(String.init) ?? "-")")
    }

    private func routerAddress(forSlot slot: Int?) -> RedisClusterAddress? {
        state.withLockedValue { state in
            if let slot { state.router.address(forSlot: slot) } else { state.router.keylessAddress() }
        }
    }

    /// The topology known, or the first one read.
    func topology() async throws -> RedisClusterTopology {
        if let topology = state.withLockedValue({ $0.router.topology }) {
            return topology
        }
        return try await refreshTopology()
    }

    /// Reads the topology again, joining a read already under way.
    @discardableResult
    func refreshTopology() async throws -> RedisClusterTopology {
        let task: Task<RedisClusterTopology, any Error> = try state.withLockedValue { state in
            guard !state.isClosed else { throw RedisError.clientClosed }
            if let refresh = state.refresh { return refresh }
            let candidates = state.router.topology.map { $0.primaries.map(\.address) + $0.nodes.map(\.address) } ?? []
            let refresh = Task { try await self.readTopology(asking: Self.unique(candidates + self.configuration.url.clusterSeeds)) }
            state.refresh = refresh
            return refresh
        }
        do {
            let topology = try await task.value
            finishRefresh(task, with: topology)
            return topology
        } catch {
            finishRefresh(task, with: nil)
            throw error
        }
    }

    private func finishRefresh(_ task: Task<RedisClusterTopology, any Error>, with topology: RedisClusterTopology?) {
        let gone: [RedisConnectionPool] = state.withLockedValue { state in
            // Only the first waiter of this read applies it.
            guard let refresh = state.refresh, refresh == task else { return [] }
            state.refresh = nil
            state.lastRefresh = .now
            guard let topology else { return [] }
            return state.router.refreshed(topology).compactMap { state.pools.removeValue(forKey: $0) }
        }
        for pool in gone {
            for connection in pool.shutDown() {
                connection.channel.close(promise: nil)
            }
        }
    }

    /// Starts reading the topology again unless a read is under way or one ended moments ago; its failure is only
    /// logged.
    private func refreshInBackground() {
        let recent = state.withLockedValue { state in
            state.refresh != nil || state.lastRefresh.map { ContinuousClock.now - $0 < Self.backgroundRefreshInterval } ?? false
        }
        guard !recent else { return }
        Task {
            do {
                try await refreshTopology()
            } catch {
                logger.debug("cannot refresh the Redis Cluster topology", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Asks each candidate in turn for `CLUSTER SHARDS` (`CLUSTER SLOTS` where refused) on a short-lived
    /// connection: a node that is down must not leave the pool's reconnect backoff in the way of the next read.
    private func readTopology(asking candidates: [RedisClusterAddress]) async throws -> RedisClusterTopology {
        var lastError: any Error = RedisError(kind: .clusterRouting, message: "no seed node to ask for the topology")
        for address in candidates {
            do {
                let connection = try await RedisConnection.connect(
                    configuration: nodeConfiguration(address),
                    eventLoop: eventLoopGroup.next(),
                    logger: logger,
                    closesOnCancellation: true
                )
                defer { connection.channel.close(promise: nil) }
                let topology: RedisClusterTopology
                do {
                    let reply = try await connection.send(["CLUSTER", "SHARDS"])
                    topology = try RedisClusterTopology(clusterShardsReply: reply, replyingHost: address.host, tls: configuration.url.tls)
                } catch let error as RedisError where error.kind.isServer {
                    let reply = try await connection.send(["CLUSTER", "SLOTS"])
                    topology = try RedisClusterTopology(clusterSlotsReply: reply, replyingHost: address.host)
                }
                guard !topology.primaries.isEmpty else {
                    throw RedisError(kind: .clusterRouting, message: "\(address) knows no primary")
                }
                logger.debug("read the Redis Cluster topology", metadata: ["redis.node": "\(address)", "redis.shards": "\(topology.shards.count)"])
                return topology
            } catch {
                logger.debug("cannot read the Redis Cluster topology", metadata: ["redis.node": "\(address)", "error": "\(error)"])
                lastError = error
            }
        }
        throw RedisError(kind: .clusterRouting, message: "no node of \(configuration.url) gave the cluster topology; last: \(lastError)")
    }

    // MARK: Pools

    /// The pool of the node at `address`, made on first use (its connections on demand).
    private func pool(for address: RedisClusterAddress) throws -> RedisConnectionPool {
        try state.withLockedValue { state in
            guard !state.isClosed else { throw RedisError.clientClosed }
            if let pool = state.pools[address] { return pool }
            let pool = RedisConnectionPool(configuration: nodeConfiguration(address), eventLoopGroup: eventLoopGroup, logger: logger)
            state.pools[address] = pool
            return pool
        }
    }

    private func nodeConfiguration(_ address: RedisClusterAddress) -> RedisConfiguration {
        var configuration = configuration
        configuration.url = configuration.url.node(address)
        return configuration
    }

    /// Refuses further commands; returns every open connection for the caller to close.
    func shutDown() -> [RedisConnection] {
        let (pools, refresh) = state.withLockedValue { state in
            state.isClosed = true
            defer {
                state.pools = [:]
                state.refresh = nil
            }
            return (Array(state.pools.values), state.refresh)
        }
        refresh?.cancel()
        return pools.flatMap { $0.shutDown() }
    }

    private static func unique(_ addresses: [RedisClusterAddress]) -> [RedisClusterAddress] {
        var seen = Set<RedisClusterAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}

extension RedisError.Kind {
    /// Whether this is an error reply of the server (as opposed to a connection or usage failure).
    var isServer: Bool {
        if case .server = self { true } else { false }
    }
}
