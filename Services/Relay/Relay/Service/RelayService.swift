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
            dedupWindow: settings.dedupWindow
        )
    }

    private var membersKey: String { "\(settings.common.keys.prefix):relay:members" }

    public func run() async throws {
        var consumers: [Int: Task<Void, Never>] = [:]
        logger.info("relay started", metadata: ["relay": "\(settings.relayID)", "partitions": "\(settings.common.eventPartitions)"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.rebalance(&consumers)
                } catch {
                    self.logger.warning("partition upkeep failed; retrying", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.settings.leaseDuration / 3)
            }
        }
        for task in consumers.values { task.cancel() }
        for task in consumers.values { await task.value }
        for partition in consumers.keys.sorted() {
            try? await lease.release(partition, on: redis)
        }
        _ = try? await redis.send("ZREM", membersKey, settings.relayID)
        metrics.partitionsOwned.set(0)
        logger.info("relay stopped; leases released", metadata: ["relay": "\(settings.relayID)", "released": "\(consumers.count)"])
    }

    /// One round of lease upkeep: heartbeat, renew, give back extras, take free partitions up to the fair share.
    private func rebalance(_ consumers: inout [Int: Task<Void, Never>]) async throws {
        let now = try await redisTimeMilliseconds()
        let expiry = now + Int(settings.leaseDuration.milliseconds)
        _ = try await redis.send("ZADD", membersKey, String(expiry), settings.relayID)
        _ = try await redis.send("ZREMRANGEBYSCORE", membersKey, "-inf", String(now))
        let liveRelays = max(1, try await redis.send("ZCARD", membersKey).int ?? 1)
        let partitions = settings.common.eventPartitions
        let share = (partitions + liveRelays - 1) / liveRelays

        for partition in consumers.keys.sorted() {
            if try await !lease.acquireOrRenew(partition, on: redis) {
                logger.warning("lost partition lease", metadata: ["partition": "\(partition)"])
                consumers.removeValue(forKey: partition)?.cancel()
            }
        }
        while consumers.count > share, let partition = consumers.keys.max() {
            let task = consumers.removeValue(forKey: partition)
            task?.cancel()
            await task?.value
            try await lease.release(partition, on: redis)
            logger.info("handed partition back for balance", metadata: ["partition": "\(partition)"])
        }
        for partition in 0..<partitions where consumers.count < share && consumers[partition] == nil {
            if try await lease.acquireOrRenew(partition, on: redis) {
                logger.info("owning partition", metadata: ["partition": "\(partition)"])
                consumers[partition] = startConsumer(partition)
            }
        }
        metrics.partitionsOwned.set(consumers.count)
    }

    private func startConsumer(_ partition: Int) -> Task<Void, Never> {
        let consumer = PartitionConsumer(
            partition: partition,
            consumerName: settings.relayID,
            redis: redis,
            publisher: publisher,
            batchSize: settings.batchSize,
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
