import Redis

/// The head of a thread's event log (`RedisKeys.threadLogState`), a hash only the relay's publish script writes:
/// where the log stands (epoch and last seq), what the relay needs to de-duplicate, and the live run's start.
public struct ThreadLogHead: Sendable, Equatable {
    /// Field names, in one place for the relay's scripts and every reader.
    public enum Field {
        /// The log's epoch; a new one starts when the log is new or was lost.
        public static let epoch = "epoch"
        /// The seq of the log's last event.
        public static let seq = "seq"
        /// The newest partition entry id the log holds the events of.
        public static let entry = "entry"
        /// The ids of the latest events, `|`-separated with a `|` at each end, for de-duplication.
        public static let recent = "recent"
        /// How many ids `recent` holds.
        public static let count = "count"
        /// The seq at which the live run's supervisor started; absent when no run is live.
        public static let live = "live"
        /// How many bytes of history the live run's frames take.
        public static let liveBytes = "livebytes"
    }

    /// The log's epoch; nil when the thread has no log yet (or it expired).
    public var epoch: String?
    /// The last event's seq, 0 when there is none.
    public var seq: Int
    /// The seq the live run started at, nil when no run is live.
    public var liveRunStart: Int?

    public init(epoch: String?, seq: Int, liveRunStart: Int?) {
        self.epoch = epoch
        self.seq = seq
        self.liveRunStart = liveRunStart
    }

    /// The command that reads a head; `init(reply:)` decodes its reply.
    public static func readCommand(_ threadID: String, keys: RedisKeys) -> [RedisArgument] {
        ["HMGET", RedisArgument(keys.threadLogState(threadID)), RedisArgument(Field.epoch), RedisArgument(Field.seq), RedisArgument(Field.live)]
    }

    /// Decodes the reply to `readCommand`.
    public init(reply: RESPValue) throws {
        guard let fields = reply.array, fields.count == 3 else {
            throw RedisError(kind: .decoding, message: "thread log head read returned \(reply)")
        }
        self.init(
            epoch: fields[0].string,
            seq: fields[1].string.flatMap { Int($0) } ?? 0,
            liveRunStart: fields[2].string.flatMap { Int($0) }
        )
    }
}
