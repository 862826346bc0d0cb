import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import NIOCore
import Redis

/// Drains one event partition while this relay holds its lease: reads on from the partition's cursor (the
/// last entry handled) and publishes each batch through the `EventPublisher`, which in the same script moves the
/// cursor past the batch and trims what is behind it.
///
/// A successor (this relay died, or stalled past its lease) starts from the cursor, so it reads again what
/// was published after the cursor last moved; each thread remembers the last entry it published, and the
/// publisher skips those. No consumer group: Redis then keeps no per-entry pending list to insert into and
/// acknowledge from (measured at a fifth of its work per event).
struct PartitionConsumer: Sendable {
    let partition: Int
    let consumerName: String
    let redis: RedisClient
    let publisher: EventPublisher
    let batchSize: Int
    /// Thread logs remembered (`HERALD_RELAY_THREAD_CACHE`).
    let threadCacheSize: Int
    let metrics: RelayMetrics
    let logger: Logger

    private var keys: RedisKeys { publisher.keys }
    private var stream: String { keys.eventPartition(partition) }

    /// Runs until the task is cancelled; throws when Redis fails or the lease is lost so the caller can back off.
    ///
    /// What it knows of thread logs lives only as long as this call: a consumer started again (after an error,
    /// or on taking the partition back) reads them afresh.
    ///
    /// It reads and publishes on one connection of its own, and runs on that connection's event loop: an event is
    /// a chain of wake-ups (worker, Redis, relay, Redis, gateway), and each round trip resumed on the global
    /// executor would add two thread hand-offs to it.
    func run() async throws {
        try await redis.withDedicatedConnection(forKey: stream) { connection in
            try await withTaskExecutorPreference(connection.taskExecutor) {
                try await run(on: connection)
            }
        }
    }

    private func run(on connection: RedisConnection) async throws {
        var cursor = try await connection.send("GET", keys.partitionCursor(partition)).string ?? "0-0"
        var threads = ThreadLogCache(capacity: threadCacheSize)
        logger.debug("reading partition", metadata: ["partition": "\(partition)", "after": "\(cursor)"])
        while !Task.isCancelled {
            let reads = try await connection.xread(streams: [(key: stream, id: cursor)], count: batchSize, block: .seconds(1))
            for read in reads where !read.entries.isEmpty {
                try await process(read.entries, threads: &threads, on: connection)
                cursor = read.entries[read.entries.count - 1].id
            }
        }
    }

    private func process(_ entries: [RedisStreamEntry], threads: inout ThreadLogCache, on connection: RedisConnection) async throws {
        guard let last = entries.last else { return }
        var batch: [EventPublisher.Item] = []
        batch.reserveCapacity(entries.count)
        for entry in entries {
            guard let event = PartitionEntry(entry) else {
                // An entry no worker could have written: drop it rather than block the partition.
                logger.error("dropping malformed event entry", metadata: ["partition": "\(partition)", "entry": "\(entry.id)"])
                metrics.malformedEvents.increment()
                continue
            }
            batch.append(EventPublisher.Item(event, entryID: entry.id))
        }
        let outcomes = try await publisher.publish(
            batch,
            from: EventPublisher.Source(partition: partition, leaseHolder: consumerName),
            advancingCursorTo: last.id,
            threads: &threads,
            on: connection
        )
        for (item, outcome) in zip(batch, outcomes) {
            let event = item.event
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
                logger.warning(
                    "dropping an event of a run that already ended",
                    metadata: ["run": "\(event.runID)", "type": "\(event.type.rawValue)"]
                )
            }
        }
    }
}
