import HeraldCore
import HeraldProtocol
import Logging
import NIOCore
import Redis
import ServiceLifecycle

/// herald-worker's main loop: takes runs off the run queue (consumer group `workers`), runs up to
/// `concurrency` of them at once through the execution engine, and cancels runs on request. Run it with the
/// rest of `services`, after a `RedisClientService` for its client.
///
/// On graceful shutdown it stops taking runs, lets the ones it holds finish for the grace period,
/// then cancels the rest, which end with a terminal event. Redis outages are waited out with backoff.
public struct WorkerService: Service, CustomStringConvertible {
    /// How long one read of the run queue blocks; also the longest a drain waits for the read in flight.
    static let readBlock = Duration.seconds(1)

    let settings: WorkerSettings
    let redis: RedisClient
    let subscriber: RedisSubscriber
    let model: any LanguageModel
    let tools: ToolRegistry
    /// The MCP servers' tools, added to `tools` for each run as they are then.
    let mcp: MCPToolbox
    let metrics: WorkerMetrics
    let logger: Logger
    let runs: RunRegistry
    let conversation: ConversationStore
    let retry: RedisRetry

    /// - Parameters:
    ///   - redis: the client for the queue, events and bookkeeping; the caller closes it.
    ///   - model: the language model every run uses.
    ///   - tools: the tools the model may call.
    public init(
        settings: WorkerSettings,
        redis: RedisClient,
        model: any LanguageModel,
        tools: ToolRegistry,
        mcp: MCPToolbox,
        metrics: WorkerMetrics,
        logger: Logger
    ) {
        self.settings = settings
        self.redis = redis
        // Pub/sub (cancellations) needs a connection of its own; `services` runs it beside the worker.
        self.subscriber = RedisSubscriber(configuration: settings.common.redis, logger: logger)
        self.model = model
        self.tools = tools
        self.mcp = mcp
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "worker"] = "\(settings.workerID)"
        self.logger = logger
        self.runs = RunRegistry(capacity: settings.concurrency)
        self.conversation = ConversationStore(
            redis: redis,
            keys: settings.common.keys,
            limit: settings.conversationTurns,
            ttlSeconds: settings.common.threadRetentionSeconds
        )
        self.retry = RedisRetry(maximumDuration: settings.redisRetry, logger: logger)
    }

    var keys: RedisKeys { settings.common.keys }

    /// Decides approval requests on the worker's side: those that expire.
    var approvals: ApprovalResolver {
        ApprovalResolver(redis: redis, keys: keys, partitions: settings.common.eventPartitions)
    }

    /// Names the worker without its settings, which hold the Redis URL and its credentials.
    public var description: String { "WorkerService(\(settings.workerID))" }

    /// The services to run together, in start order: the MCP servers, the cancellations' pub/sub connection, then the
    /// worker, so a draining worker still hears cancellations and reaches its MCP servers.
    public var services: [any Service] {
        [mcp, RedisSubscriberService(subscriber), self]
    }

    public func run() async throws {
        logger.info(
            "worker started",
            metadata: [
                "concurrency": "\(settings.concurrency)", "model": "\(model.name)", "tools": "\(tools.names.joined(separator: ","))",
                "approval_tools": "\(tools.names.filter(tools.requiresApproval).joined(separator: ","))",
            ]
        )
        let unknown = tools.approvals.names.subtracting(tools.names).sorted()
        if !unknown.isEmpty {
            // A misspelt name would leave a tool the operator meant to guard unguarded: say so at once.
            logger.warning(
                "\(SettingSpec.approvalTools.name) names tools this worker does not have; calls of those names run without approval",
                metadata: ["unknown": "\(unknown.joined(separator: ","))"]
            )
        }
        let runs = self.runs
        let expirySweep = ApprovalExpirySweep(
            redis: redis,
            keys: keys,
            resolver: approvals,
            metrics: metrics,
            interval: min(.seconds(1), settings.approvalTimeout / 4),
            logger: logger
        )
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listenForCancellations() }
                group.addTask { await expirySweep.run() }
                await consume()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            Task { await runs.beginDrain() }
        }
        logger.info("worker stopped")
    }

    /// Stops taking runs and lets the service wind down, as a graceful shutdown does.
    public func beginShutdown() async {
        await runs.beginDrain()
    }

    // MARK: The run queue

    private func consume() async {
        guard await ensureConsumerGroup() else { return }
        await withTaskGroup(of: Void.self) { group in
            var failures = 0
            while !Task.isCancelled {
                let free = await runs.waitForFreeSlots()
                guard free > 0 else { break }
                let reads: [RedisStreamRead]
                do {
                    reads = try await redis.xreadgroup(
                        group: RedisKeys.runConsumerGroup,
                        consumer: settings.workerID,
                        streams: [(key: keys.runQueue, id: ">")],
                        count: free,
                        block: Self.readBlock
                    )
                } catch {
                    guard !Task.isCancelled else { break }
                    failures += 1
                    metrics.redisErrors.increment()
                    if failures == 1 {
                        logger.warning("cannot read the run queue; retrying", metadata: ["error": "\(error)"])
                    }
                    if let redisError = error as? RedisError, redisError.serverErrorPrefix == "NOGROUP" {
                        // The queue or its group vanished (Redis restarted empty): make them again.
                        try? await redis.xgroupCreate(keys.runQueue, group: RedisKeys.runConsumerGroup, startID: "0")
                    }
                    try? await Task.sleep(for: Self.backoff(failures))
                    continue
                }
                if failures > 0 {
                    logger.notice("run queue reachable again", metadata: ["failed_reads": "\(failures)"])
                    failures = 0
                }
                for entry in reads.flatMap(\.entries) {
                    await runs.take()
                    group.addTask { await execute(entry) }
                }
            }
            await drain()
            await group.waitForAll()
        }
    }

    /// Creates the run queue's consumer group (from the start of the stream, so runs enqueued before
    /// any worker existed are read); retries while Redis is unreachable. False when stopped meanwhile.
    private func ensureConsumerGroup() async -> Bool {
        var failures = 0
        while !Task.isCancelled, !(await runs.isDraining) {
            do {
                try await redis.xgroupCreate(keys.runQueue, group: RedisKeys.runConsumerGroup, startID: "0")
                if failures > 0 { logger.notice("Redis reachable again") }
                return true
            } catch {
                failures += 1
                if failures == 1 {
                    logger.warning("cannot create the run queue's consumer group; retrying", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: Self.backoff(failures))
            }
        }
        return false
    }

    /// Lets held runs finish for the grace period, then cancels the rest and waits for their terminal events.
    private func drain() async {
        let held = await runs.count
        if held > 0 {
            logger.info("waiting for runs to finish", metadata: ["runs": "\(held)", "grace_ms": "\(settings.gracePeriod.milliseconds)"])
        }
        let runs = self.runs
        let grace = settings.gracePeriod
        let logger = self.logger
        let deadline = Task {
            do { try await Task.sleep(for: grace) } catch { return }
            let remaining = await runs.count
            if remaining > 0 {
                logger.notice("grace period over; cancelling runs", metadata: ["runs": "\(remaining)"])
            }
            await runs.cancelAll(reason: .shutdown)
        }
        await runs.waitUntilEmpty()
        deadline.cancel()
    }

    static func backoff(_ failures: Int) -> Duration {
        .milliseconds(min(5000, 100 << min(failures - 1, 6)))
    }

    // MARK: Cancellations

    /// Cancels runs announced on the cancel channel (payload: the run id). After the subscription
    /// was lost and restored, checks every held run's cancellation key instead.
    private func listenForCancellations() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let subscription = try await subscriber.subscribe(keys.cancelChannel)
                for try await event in subscription {
                    failures = 0
                    switch event {
                    case .message(let payload):
                        let runID = String(buffer: payload)
                        if await runs.cancel(runID, reason: .cancelled) {
                            logger.info("run cancellation requested", metadata: ["run_id": "\(runID)"])
                        }
                    case .resubscribed:
                        await checkCancellationKeys()
                    }
                }
            } catch {
                guard !Task.isCancelled else { return }
                failures += 1
                logger.warning("cancellation subscription ended; subscribing again", metadata: ["error": "\(error)"])
                await checkCancellationKeys()
                try? await Task.sleep(for: Self.backoff(failures))
            }
        }
    }

    private func checkCancellationKeys() async {
        for runID in await runs.runIDs {
            if let exists = try? await redis.send("EXISTS", keys.runCancelled(runID)).int, exists == 1 {
                if await runs.cancel(runID, reason: .cancelled) {
                    logger.info("run cancellation found", metadata: ["run_id": "\(runID)"])
                }
            }
        }
    }
}
