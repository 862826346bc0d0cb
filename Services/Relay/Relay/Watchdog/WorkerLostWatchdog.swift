import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import Redis
import ServiceLifecycle

/// Ends the runs whose worker died, so no chat waits forever (DESIGN.md section 6, rule 7).
///
/// A worker holds each run it executes under a lease it renews. A run still unacknowledged on the
/// run queue whose lease has lapsed belongs to a dead worker: the watchdog claims it (the claim is
/// atomic, so among many relays exactly one handles it), works out from the run's outline (its events that
/// open or close an agent or tool call, kept whole however long its answer) what is still open, and appends the
/// events that close it — failed tool calls, failed agents and
/// the supervisor's `agent_error` `worker_lost` — behind the dead worker's own events, in the
/// thread's partition, so the relay publishes them in order like any other events.
///
/// As a `Service` it sweeps a few times per run lease until graceful shutdown.
public struct WorkerLostWatchdog: Service, CustomStringConvertible {
    let keys: RedisKeys
    let redis: RedisClient
    let partitions: Int
    let runLease: Duration
    let name: String
    let metrics: RelayMetrics
    let logger: Logger

    static let message = "the worker running this request stopped responding"

    init(keys: RedisKeys, redis: RedisClient, partitions: Int, runLease: Duration, name: String, metrics: RelayMetrics, logger: Logger) {
        self.keys = keys
        self.redis = redis
        self.partitions = partitions
        self.runLease = runLease
        self.name = name
        self.metrics = metrics
        self.logger = logger
    }

    /// The watchdog of the relay `settings` describe, claiming lost runs under its relay id.
    public init(settings: RelaySettings, redis: RedisClient, metrics: RelayMetrics, logger: Logger) {
        self.init(
            keys: settings.common.keys,
            redis: redis,
            partitions: settings.common.eventPartitions,
            runLease: .seconds(settings.common.runLeaseSeconds),
            name: settings.relayID,
            metrics: metrics,
            logger: logger
        )
    }

    public var description: String { "WorkerLostWatchdog(\(name))" }

    /// Time between sweeps: a quarter of the run lease, so a lost run is closed soon after its lease lapses.
    var sweepInterval: Duration { max(Duration.milliseconds(500), runLease / 4) }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await sweep()
                } catch {
                    logger.warning("lost-worker sweep failed; retrying", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: sweepInterval)
            }
        }
    }

    /// One sweep over the run queue's unacknowledged entries.
    func sweep() async throws {
        // From "0": runs queued before any worker existed must still be delivered.
        try await redis.xgroupCreate(keys.runQueue, group: RedisKeys.runConsumerGroup, startID: "0", makeStream: true)
        let leaseMilliseconds = String(runLease.milliseconds)
        let reply = try await redis.send("XPENDING", keys.runQueue, RedisKeys.runConsumerGroup, "IDLE", leaseMilliseconds, "-", "+", "100")
        for entry in reply.array ?? [] {
            guard let fields = entry.array, let entryID = fields.first?.string else { continue }
            try await inspect(entryID: entryID, leaseMilliseconds: leaseMilliseconds)
        }
    }

    private func inspect(entryID: String, leaseMilliseconds: String) async throws {
        guard
            let request = try await redis.xrange(keys.runQueue, start: entryID, end: entryID).first?.string(RunRequest.streamField).flatMap({
                try? RunRequest.decode($0)
            })
        else {
            // The entry is gone or unreadable: nothing can be closed, just stop tracking it.
            _ = try await redis.xack(keys.runQueue, group: RedisKeys.runConsumerGroup, ids: [entryID])
            return
        }
        if try await redis.send("EXISTS", keys.runLease(request.runID)).int == 1 { return }
        // Claiming resets the entry's idle time, so any other relay's watchdog now passes it by.
        let claimed = try await redis.send("XCLAIM", keys.runQueue, RedisKeys.runConsumerGroup, name, leaseMilliseconds, entryID, "JUSTID")
        guard claimed.array?.isEmpty == false else { return }

        let progress = try await progress(of: request)
        let input =
            (request.toolResults ?? []).isEmpty
            ? EventPayload.AgentStarted.Input(content: request.content, clientMessageID: request.clientMessageID) : nil
        let closing = progress.closingEvents(
            threadID: request.threadID,
            runID: request.runID,
            code: .workerLost,
            message: Self.message,
            retryable: true,
            input: input
        )
        let partition = keys.eventPartition(RedisKeys.partition(of: request.threadID, partitions: partitions))
        for event in closing {
            _ = try await redis.xadd(partition, fields: PartitionEntry(event).fields)
        }
        try await RunRecordUpdate.set(
            [RunRecord.Field.status: progress.ended ? RunRecord.Status.done : RunRecord.Status.workerLost],
            ofRun: request.runID,
            keys: keys,
            on: redis
        )
        _ = try await redis.xack(keys.runQueue, group: RedisKeys.runConsumerGroup, ids: [entryID])
        _ = try await redis.send("XDEL", keys.runQueue, entryID)
        if !closing.isEmpty {
            metrics.runsLost.increment()
            logger.warning(
                "run's worker is gone; closed the run with worker_lost",
                metadata: ["run": "\(request.runID)", "thread": "\(request.threadID)", "closing_events": "\(closing.count)"]
            )
        }
    }

    /// The run's events so far: those already published, from the thread's live-run outline, then those still
    /// waiting in its partition. Neither depends on how many events the run streamed: the outline is never trimmed
    /// and the partition holds only what the relay has not published.
    ///
    /// The partition is read first, so an event the relay publishes meanwhile is seen at least once (it moves to
    /// the outline, or ends the run, in the same script that trims it from the partition); a run whose end was
    /// published is ended by its marker, even though its outline is gone.
    private func progress(of request: RunRequest) async throws -> RunProgress {
        let partition = keys.eventPartition(RedisKeys.partition(of: request.threadID, partitions: partitions))
        let pendingEvents = try await redis.xrange(partition).compactMap { entry -> AgentEvent? in
            guard let pending = PartitionEntry(entry), pending.runID == request.runID, pending.type.opensOrCloses else { return nil }
            return try? AgentEvent.decode(pending.json)
        }
        var progress = RunProgress()
        if try await redis.send("EXISTS", keys.runEnded(request.runID)).int == 1 {
            progress.markEnded()
            return progress
        }
        var publishedEvents = try await frames(of: request, in: keys.threadLiveRunOutline(request.threadID))
        if publishedEvents.isEmpty {
            // A run without an outline (its start was published by a relay that keeps none): read the history.
            publishedEvents = try await frames(of: request, in: keys.threadHistory(request.threadID))
        }
        var seen = Set<String>()
        for event in publishedEvents + pendingEvents where seen.insert(event.eventID).inserted {
            progress.apply(event)
        }
        return progress
    }

    /// The events of the run in a list of frames (the outline, or the history).
    private func frames(of request: RunRequest, in list: String) async throws -> [AgentEvent] {
        let reply = try await redis.send("LRANGE", list, "0", "-1")
        return (reply.array ?? []).compactMap { value -> AgentEvent? in
            guard let text = value.string, let frame = try? EventFrame.decode(text), frame.runID == request.runID else { return nil }
            return frame.event
        }
    }
}
