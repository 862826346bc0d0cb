import HeraldCore
import HeraldProtocol
import Redis

/// Appends each event to its thread's event partition (`XADD`, a `PartitionEntry`), where the relay picks it up.
///
/// No `MAXLEN`: the relay deletes what it has processed, and trimming could drop events it has not.
/// One attempt per emit; the engine retries failures (`RetryingEventSink`).
public struct RedisEventSink: EventSink {
    private let redis: RedisClient
    /// The partition stream this sink appends to.
    public let stream: String

    /// A sink for the events of `threadID`, on the partition every service computes for that thread.
    public init(redis: RedisClient, keys: RedisKeys, threadID: String, partitions: Int) {
        self.redis = redis
        self.stream = keys.eventPartition(RedisKeys.partition(of: threadID, partitions: partitions))
    }

    public func emit(_ event: AgentEvent) async throws {
        try await redis.xadd(stream, fields: PartitionEntry(event).fields)
    }
}
