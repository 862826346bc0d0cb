import Foundation
import HeraldCore
import Logging
import Redis
import ServiceLifecycle

/// Reads how much work is waiting — runs not yet taken by a worker, events not yet published —
/// and exports it, so operators can alert before users stare at a blank screen.
///
/// As a `Service` it reads a few times per run lease until graceful shutdown.
public struct BacklogObserver: Service, CustomStringConvertible {
    let keys: RedisKeys
    let redis: RedisClient
    let partitions: Int
    let metrics: RelayMetrics
    let interval: Duration
    let logger: Logger

    /// The observer of the deployment `settings` describe, reading as often as the lost-worker watchdog sweeps.
    public init(settings: RelaySettings, redis: RedisClient, metrics: RelayMetrics, logger: Logger) {
        self.keys = settings.common.keys
        self.redis = redis
        self.partitions = settings.common.eventPartitions
        self.metrics = metrics
        self.interval = max(Duration.milliseconds(500), .seconds(settings.common.runLeaseSeconds) / 4)
        self.logger = logger
    }

    public var description: String { "BacklogObserver" }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await observe()
                } catch {
                    logger.warning("reading the backlog failed; retrying", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    func observe() async throws {
        if let queue = try await group(RedisKeys.runConsumerGroup, of: keys.runQueue) {
            metrics.runsWaiting.set(Int64(queue.lag))
            metrics.oldestQueuedRunAge.set(try await oldestUndeliveredAge(after: queue.lastDeliveredID))
        }
        // The relay trims each partition up to its cursor after every batch: what a partition holds is waiting.
        let lengths = try await redis.pipeline((0..<partitions).map { ["XLEN", RedisArgument(keys.eventPartition($0))] })
        for (partition, length) in lengths.enumerated() {
            metrics.partitionBacklog(partition).set(Int64(try length.get().int ?? 0))
        }
    }

    private struct GroupInfo {
        var pending = 0
        var lag = 0
        var lastDeliveredID = "0-0"
    }

    /// One consumer group's counters from XINFO GROUPS; nil when the stream or group does not exist yet.
    private func group(_ name: String, of stream: String) async throws -> GroupInfo? {
        let reply: RESPValue
        do {
            reply = try await redis.send("XINFO", "GROUPS", stream)
        } catch let error as RedisError where error.message.contains("no such key") {
            return nil
        }
        for entry in reply.array ?? [] {
            let fields = entry.array ?? []
            var values: [String: RESPValue] = [:]
            for index in stride(from: 0, to: fields.count - 1, by: 2) {
                if let key = fields[index].string { values[key] = fields[index + 1] }
            }
            guard values["name"]?.string == name else { continue }
            return GroupInfo(
                pending: values["pending"]?.int ?? 0,
                lag: values["lag"]?.int ?? 0,
                lastDeliveredID: values["last-delivered-id"]?.string ?? "0-0"
            )
        }
        return nil
    }

    /// Seconds since the first entry after the group's last delivered one was added (ids carry their time).
    private func oldestUndeliveredAge(after lastDelivered: String) async throws -> Double {
        guard let next = try await redis.xrange(keys.runQueue, start: "(" + lastDelivered, count: 1).first,
            let milliseconds = Double(next.id.prefix { $0 != "-" })
        else { return 0 }
        return max(0, Date().timeIntervalSince1970 - milliseconds / 1000)
    }
}
