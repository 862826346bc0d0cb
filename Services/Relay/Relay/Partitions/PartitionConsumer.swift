import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import NIOCore
import Redis

/// Drains one event partition while this relay owns it: first what a previous owner read but
/// never acknowledged, then new events, each published and acknowledged at once by the
/// `EventPublisher`; the handled part of the partition stream is then trimmed away.
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
        guard let last = entries.last else { return }
        var batch: [EventPublisher.Item] = []
        batch.reserveCapacity(entries.count)
        var malformed: [RedisArgument] = []
        for entry in entries {
            guard let event = PartitionEntry(entry) else {
                // An entry no worker could have written: drop it rather than block the partition.
                logger.error("dropping malformed event entry", metadata: ["partition": "\(partition)", "entry": "\(entry.id)"])
                metrics.malformedEvents.increment()
                malformed.append(RedisArgument(entry.id))
                continue
            }
            batch.append(EventPublisher.Item(event, entryID: entry.id))
        }
        // The script acknowledges each entry it handled, atomically with publishing it.
        let outcomes = try await publisher.publish(batch, from: EventPublisher.Source(partition: partition, leaseHolder: consumerName), on: redis)
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
                logger.warning("dropping an event of a run that already ended", metadata: ["run": "\(event.runID)", "type": "\(event.type.rawValue)"])
            }
        }
        if !malformed.isEmpty {
            _ = try await redis.send(["XACK", RedisArgument(stream), RedisArgument(RedisKeys.relayConsumerGroup)] + malformed)
        }
        _ = try await redis.evalScript(
            Self.trimScript,
            keys: [stream],
            arguments: [RedisArgument(RedisKeys.relayConsumerGroup), RedisArgument(Self.idAfter(last.id))]
        )
    }

    /// Trims the partition stream up to and including `id`, but never past an entry still pending:
    /// a relay that lost the lease without noticing yet may have read entries nobody has published.
    /// Trimming by id frees whole stream nodes at once, where deleting entry by entry costs Redis per entry.
    static let trimScript = RedisScript(
        """
        -- KEYS: partition stream; ARGV: consumer group, the smallest id to keep
        local limit = ARGV[2]
        local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
        if pending[2] then
          local pms, pseq = string.match(pending[2], '^(%d+)-(%d+)$')
          local lms, lseq = string.match(limit, '^(%d+)-(%d+)$')
          pms, pseq, lms, lseq = tonumber(pms), tonumber(pseq), tonumber(lms), tonumber(lseq)
          if pms < lms or (pms == lms and pseq < lseq) then
            limit = pending[2]
          end
        end
        return redis.call('XTRIM', KEYS[1], 'MINID', limit)
        """
    )

    /// The smallest stream id above `id` ("ms-seq"), so `XTRIM MINID` removes `id` itself too.
    static func idAfter(_ id: String) -> String {
        guard let dash = id.firstIndex(of: "-"), let milliseconds = UInt64(id[..<dash]), let sequence = UInt64(id[id.index(after: dash)...]) else {
            return id
        }
        return sequence == UInt64.max ? "\(milliseconds + 1)-0" : "\(milliseconds)-\(sequence + 1)"
    }
}
