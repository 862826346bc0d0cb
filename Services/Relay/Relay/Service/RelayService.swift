import HeraldCore
import Logging
import Redis
import ServiceLifecycle

/// herald-relay's main loop: keeps a fair share of the event partitions under lease and runs a
/// `PartitionConsumer` for each partition it owns.
///
/// Relays announce themselves in a membership set; each takes at most ⌈partitions ÷ live relays⌉,
/// so a second relay is a standby when there is one partition and a partner when there are many.
/// On graceful shutdown it stops its consumers and releases its leases so a standby takes over at once.
/// Runs whose worker died are closed by `WorkerLostWatchdog`, a service of its own in the same group.
public final class RelayService: Service {
    private let settings: RelaySettings
    private let redis: RedisClient
    private let metrics: RelayMetrics
    private let logger: Logger
    private let lease: PartitionLease
    private let publisher: EventPublisher

    public init(settings: RelaySettings, redis: RedisClient, metrics: RelayMetrics, logger: Logger) {
        self.settings = settings
        self.redis = redis
        self.metrics = metrics
        self.logger = logger
        self.lease = PartitionLease(keys: settings.common.keys, owner: settings.relayID, duration: settings.leaseDuration)
        self.publisher = EventPublisher(
            keys: settings.common.keys,
            historySize: settings.common.historySize,
            historyTTLSeconds: settings.common.historyTTLSeconds,
            dedupWindow: settings.dedupWindow,
            eventsPerCall: settings.scriptEvents,
            liveRunHistoryBytes: settings.liveRunHistoryBytes,
            threadRetentionSeconds: settings.common.threadRetentionSeconds
        )
    }

    private var membersKey: String { settings.common.keys.relayMembers }

    public func run() async throws {
        let consumers = ConsumerTasks()
        logger.info("relay started", metadata: ["relay": "\(settings.relayID)", "partitions": "\(settings.common.eventPartitions)"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.rebalance(consumers)
                } catch {
                    self.logger.warning("partition upkeep failed; retrying", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.settings.leaseDuration / 3)
            }
        }
        let stopped = await consumers.stopAll()
        for partition in stopped {
            try? await lease.release(partition, on: redis)
        }
        _ = try? await redis.send("ZREM", membersKey, settings.relayID)
        metrics.partitionsOwned.set(Int64(0))
        logger.info("relay stopped; leases released", metadata: ["relay": "\(settings.relayID)", "released": "\(stopped.count)"])
    }

    /// One round of lease upkeep: heartbeat, renew, give back extras, take free partitions up to the fair share.
    private func rebalance(_ consumers: ConsumerTasks) async throws {
        let now = try await redisTimeMilliseconds()
        let expiry = now + Int(settings.leaseDuration.milliseconds)
        _ = try await redis.send("ZADD", membersKey, String(expiry), settings.relayID)
        _ = try await redis.send("ZREMRANGEBYSCORE", membersKey, "-inf", String(now))
        let liveRelays = max(1, try await redis.send("ZCARD", membersKey).int ?? 1)
        let partitions = settings.common.eventPartitions
        let share = (partitions + liveRelays - 1) / liveRelays

        for partition in await consumers.owned {
            if try await !lease.acquireOrRenew(partition, on: redis) {
                logger.warning("lost partition lease", metadata: ["partition": "\(partition)"])
                await consumers.stop(partition)
            }
        }
        while await consumers.count > share, let partition = await consumers.owned.last {
            await consumers.stop(partition)
            try await lease.release(partition, on: redis)
            logger.info("handed partition back for balance", metadata: ["partition": "\(partition)"])
        }
        for partition in 0..<partitions {
            guard await consumers.count < share else { break }
            guard await !consumers.owns(partition) else { continue }
            if try await lease.acquireOrRenew(partition, on: redis) {
                logger.info("owning partition", metadata: ["partition": "\(partition)"])
                await consumers.start(partition, startConsumer(partition))
            }
        }
        metrics.partitionsOwned.set(Int64(await consumers.count))
    }

    private func startConsumer(_ partition: Int) -> Task<Void, Never> {
        let consumer = PartitionConsumer(
            partition: partition,
            consumerName: settings.relayID,
            redis: redis,
            publisher: publisher,
            batchSize: settings.batchSize,
            threadCacheSize: settings.threadCacheSize,
            metrics: metrics,
            logger: logger
        )
        let logger = self.logger
        return Task {
            var backoff = Duration.milliseconds(50)
            while !Task.isCancelled {
                do {
                    try await consumer.run()
                } catch {
                    guard !Task.isCancelled else { return }
                    logger.warning("partition consumer failed; retrying", metadata: ["partition": "\(partition)", "error": "\(error)"])
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(2))
                }
            }
        }
    }

    /// Redis's clock, so relays on machines with skewed clocks agree on who is alive.
    private func redisTimeMilliseconds() async throws -> Int {
        let reply = try await redis.send("TIME")
        guard let parts = reply.array, parts.count == 2, let seconds = parts[0].string.flatMap({ Int($0) }),
            let micros = parts[1].string.flatMap({ Int($0) })
        else {
            throw RelayError.unexpectedReply("TIME returned \(reply)")
        }
        return seconds * 1000 + micros / 1000
    }
}

/// The consumer task of each partition this relay owns.
private actor ConsumerTasks {
    private var tasks: [Int: Task<Void, Never>] = [:]

    var owned: [Int] { tasks.keys.sorted() }
    var count: Int { tasks.count }

    func owns(_ partition: Int) -> Bool { tasks[partition] != nil }

    func start(_ partition: Int, _ task: Task<Void, Never>) {
        tasks[partition] = task
    }

    /// Stops a partition's consumer and waits until it has finished its batch.
    func stop(_ partition: Int) async {
        guard let task = tasks.removeValue(forKey: partition) else { return }
        task.cancel()
        await task.value
    }

    /// Stops every consumer; returns the partitions that were owned.
    func stopAll() async -> [Int] {
        let partitions = owned
        for partition in partitions { await stop(partition) }
        return partitions
    }
}
