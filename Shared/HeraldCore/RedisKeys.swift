/// Every Redis key and channel Herald uses, under one deployment-wide prefix (`HERALD_KEY_PREFIX`).
///
/// Thread keys share the hash tag `{thread id}` so a thread's keys stay together on a cluster slot.
public struct RedisKeys: Sendable, Hashable {
    public let prefix: String

    public init(prefix: String) {
        self.prefix = prefix
    }

    // MARK: Runs (gateway → worker)

    /// The run queue: a stream read by the consumer group `runConsumerGroup`.
    public var runQueue: String { "\(prefix):runs" }
    public static let runConsumerGroup = "workers"

    /// A run's record: hash with `thread_id`, `user_id`, `status`, `worker`, `created_at`.
    public func run(_ runID: String) -> String { "\(prefix):run:\(runID)" }

    /// Set while a run is cancelled; workers check it before starting a queued run.
    public func runCancelled(_ runID: String) -> String { "\(prefix):run:\(runID):cancelled" }

    /// Set once a run's terminal event is published; later events of the run are dropped.
    public func runEnded(_ runID: String) -> String { "\(prefix):run:\(runID):ended" }

    /// The lease a worker holds on a run while executing it (value: the worker's id).
    public func runLease(_ runID: String) -> String { "\(prefix):run:\(runID):lease" }

    /// What a run paused for approval needs to continue (JSON `PausedRun`), kept while it waits.
    public func runPaused(_ runID: String) -> String { "\(prefix):run:\(runID):paused" }

    // MARK: Approvals (worker → person → any worker)

    /// An approval request (hash, `ApprovalRecord.Field`): what the tool call asks, for whom, and the decision.
    public func approval(_ approvalID: String) -> String { "\(prefix):approval:\(approvalID)" }
    /// Requests waiting for a decision, scored by when each expires (milliseconds since 1970).
    public var approvalDeadlines: String { "\(prefix):approvals:deadlines" }

    /// Pub/sub channel on which gateways announce cancellations to every worker.
    public var cancelChannel: String { "\(prefix):cancel" }

    // MARK: Events (worker → relay)

    /// One of the relay's input streams; a thread's events always go to the same partition.
    public func eventPartition(_ index: Int) -> String { "\(prefix):events:\(index)" }

    /// The lease a relay holds to own a partition.
    public func partitionLease(_ index: Int) -> String { "\(prefix):relay:lease:\(index)" }
    /// The relays alive: a sorted set of relay ids scored by when each one's membership lapses; relays share the
    /// partitions among its members.
    public var relayMembers: String { "\(prefix):relay:members" }
    /// The id of the last entry of event partition `index` the relay has handled; what follows it is still to do.
    public func partitionCursor(_ index: Int) -> String { "\(prefix):relay:cursor:\(index)" }

    // MARK: Threads

    /// Thread record: hash with the fields of `ThreadRecord.Field`; lives `HERALD_THREAD_RETENTION_DAYS` after its
    /// last run.
    public func thread(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}" }
    /// The thread's runs in order (list of run ids), each one exchange of messages; as long-lived as the record.
    public func threadRuns(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}:runs" }
    /// The thread's messages (hash): per run the fields of `MessageRecord.Field`, written by the relay as the run's
    /// events are published; as long-lived as the record.
    public func threadMessages(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}:messages" }
    /// The live run's answer so far (string), appended to as it streams and moved into `threadMessages` when it ends.
    public func threadAnswerText(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}:answer" }
    /// The run currently active on the thread (string; absent when idle).
    public func threadActiveRun(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}:active" }
    /// Published frames, a list in `seq` order whose last element is the frame of the log state's `seq` (capped
    /// at `HERALD_HISTORY_SIZE`).
    public func threadHistory(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}:log" }
    /// The head of the thread's log (hash), written by the relay with each append: `epoch` (a new one starts
    /// when the log was lost), `seq` (the last assigned); and for the relay alone `entry`, the last partition
    /// entry it published, `recent`, the ids of its latest events (`|id|id|…|`, at most `HERALD_DEDUP_WINDOW`),
    /// and their `count`, for de-duplication.
    public func threadLogState(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}:state" }
    /// The outline of the thread's live run: its frames that open or close an agent or a tool call, in order, kept
    /// whole however long its answer streams and dropped when it ends. The watchdog closes a dead worker's run
    /// from it (with the run's events still in its partition), never from the trimmed history.
    public func threadLiveRunOutline(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}:outline" }
    /// The conversation so far: a list of JSON turns `{"role":…,"content":…}`.
    public func threadConversation(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}:conversation" }
    /// Pub/sub channel carrying the thread's event frames.
    public func threadChannel(_ threadID: String) -> String { "\(prefix):thread:{\(threadID)}:events" }

    // MARK: Users

    /// A user's threads (sorted set scored by the time of their latest run, in milliseconds); entries older than the
    /// retention are dropped with each write, and the set expires with the user's newest thread.
    public func userThreads(_ userID: String) -> String { "\(prefix):user:{\(userID)}:threads" }

    /// The notes `save_note` saved for a user (hash: run and tool call id → JSON note), so a call saves its note once.
    public func userNotes(_ userID: String) -> String { "\(prefix):user:{\(userID)}:notes" }

    /// When a guest's runs of the last hour started (sorted set of times in ms; expires an hour after the newest).
    public func guestRuns(_ userID: String) -> String { "\(prefix):user:{\(userID)}:guest-runs" }

    // MARK: Deployment

    /// Whether the deployment's gateways make guests (`on`/`off`), as the last gateway to start left it.
    public var deploymentGuests: String { "\(prefix):deployment:guests" }

    /// The language model the deployment's workers use (`offline`, or the model's name), as the last worker to start
    /// left it.
    public var deploymentModel: String { "\(prefix):deployment:model" }

    /// When the guests one client address made in the last minute were made (sorted set of times in ms).
    public func newGuests(from address: String) -> String { "\(prefix):new-guests:{\(address)}" }

    /// The secret every gateway of the deployment signs guest tokens with.
    public var guestSecret: String { "\(prefix):guest-secret" }

    /// Partition of a thread's events: a stable hash (FNV-1a), the same in every process.
    public static func partition(of threadID: String, partitions: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in threadID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(max(partitions, 1)))
    }
}
