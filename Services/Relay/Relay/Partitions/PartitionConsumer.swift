import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import NIOCore
import Redis

/// Drains one event partition while this relay owns it: first what a previous owner read but
/// never acknowledged, then new events, each published through the `EventPublisher` before it
/// is acknowledged and deleted from the partition stream.
struct PartitionConsumer: Sendable {
    let partition: Int
    let consumerName: String
    let redis: RedisClient
    let publisher: EventPublisher
    let batchSize: Int
    let metrics: RelayMetrics
    let logger: Logger

    private var stream: String { publisher.keys.eventPartition(partition) }

    /// Runs until the task is cancelled; throws when Redis fails so the caller can back off.
    func run() async throws {
        try await redis.xgroupCreate(stream, group: RedisKeys.relayConsumerGroup, startID: "0", makeStream: true)
        try await takeOverPending()
        while !Task.isCancelled {
            let reads = try await redis.xreadgroup(
                group: RedisKeys.relayConsumerGroup,
                consumer: consumerName,
                streams: [(key: stream, id: ">")],
                count: batchSize,
                block: .seconds(1)
            )
            for read in reads {
                try await process(read.entries)
            }
        }
    }

    /// Claims every entry another consumer read but did not acknowledge (a relay that died),
    /// oldest first, and publishes it; the publisher drops those that were already published.
    private func takeOverPending() async throws {
        var cursor = "0-0"
        repeat {
            let claimed = try await redis.xautoclaim(
                stream,
                group: RedisKeys.relayConsumerGroup,
                consumer: consumerName,
                minIdle: .zero,
                start: cursor,
                count: batchSize
            )
            if !claimed.entries.isEmpty {
                logger.notice("taking over unacknowledged events", metadata: ["partition": "\(partition)", "count": "\(claimed.entries.count)"])
            }
            try await process(claimed.entries)
            cursor = claimed.nextStart
        } while cursor != "0-0" && !Task.isCancelled
    }

    private func process(_ entries: [RedisStreamEntry]) async throws {
        guard !entries.isEmpty else { return }
        var batch: [PartitionEntry] = []
        batch.reserveCapacity(entries.count)
        for entry in entries {
            guard let event = PartitionEntry(entry) else {
                // An entry no worker could have written: drop it rather than block the partition.
                logger.error("dropping malformed event entry", metadata: ["partition": "\(partition)", "entry": "\(entry.id)"])
                metrics.malformedEvents.increment()
                continue
            }
            batch.append(event)
        }
        let outcomes = try await publisher.publish(batch, on: redis)
        for (event, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .published:
                metrics.eventsPublished.increment()
                metrics.observeDelay(since: event.timestamp)
                if event.isRunTerminal {
                    logger.info("run ended", metadata: ["run": "\(event.runID)", "thread": "\(event.threadID)", "type": "\(event.type.rawValue)"])
                }
            case .duplicate:
                metrics.duplicatesDropped.increment()
            case .afterRunEnded:
                metrics.lateEventsDropped.increment()
                logger.warning("dropping an event of a run that already ended", metadata: ["run": "\(event.runID)", "type": "\(event.type.rawValue)"])
            }
        }
        let ids = entries.map { RedisArgument($0.id) }
        // Acknowledge only now that every event of the batch is published (or known to be).
        let results = try await redis.pipeline([
            ["XACK", RedisArgument(stream), RedisArgument(RedisKeys.relayConsumerGroup)] + ids,
            ["XDEL", RedisArgument(stream)] + ids,
        ])
        for result in results {
            _ = try result.get()
        }
    }
}
