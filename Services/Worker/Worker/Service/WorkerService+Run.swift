import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import Redis

extension WorkerService {
    /// Compare-and-delete: frees the run lease only while this worker still holds it.
    static let releaseLease = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """
    )

    /// Takes or renews the run lease, unless the run has paused for approval meanwhile: a renewal in flight as the
    /// pause script frees the lease must not take it back.
    static let renewLease = RedisScript(
        """
        -- KEYS: run lease, run record
        -- ARGV: worker id, lease milliseconds
        if redis.call('HGET', KEYS[2], '\(RunRecord.Field.status)') == '\(RunRecord.Status.paused)' then
          return 0
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """
    )

    func leaseKey(_ runID: String) -> String { keys.runLease(runID) }

    /// Runs one queue entry from start to acknowledgement; the slot it holds is given back at the end.
    func execute(_ entry: RedisStreamEntry) async {
        guard let text = entry.string(RunRequest.streamField), let request = try? RunRequest.decode(text) else {
            logger.error("dropping a malformed run queue entry", metadata: ["entry_id": "\(entry.id)"])
            await acknowledge(entry.id)
            await runs.giveBack()
            return
        }
        var logger = self.logger
        logger[metadataKey: "run_id"] = "\(request.runID)"
        logger[metadataKey: "thread_id"] = "\(request.threadID)"
        let control = await runs.register(request.runID)
        let clock = ContinuousClock()
        let start = clock.now
        metrics.activeRuns.increment()
        if let outcome = await perform(request, entryID: entry.id, control: control, logger: logger) {
            let duration = clock.now - start
            metrics.record(outcome, duration: duration)
            var details: Logger.Metadata = ["outcome": "\(outcome.label)", "duration_ms": "\(duration.milliseconds)"]
            if case .failed(_, let message) = outcome { details["message"] = "\(LogText.truncated(message))" }
            if case .eventsLost(let message) = outcome { details["message"] = "\(LogText.truncated(message))" }
            switch outcome {
            case .paused: logger.info("run paused", metadata: details)
            case .completed, .handedToClient, .cancelled: logger.info("run finished", metadata: details)
            case .failed: logger.notice("run finished", metadata: details)
            case .eventsLost: logger.error("run abandoned: its events could not be delivered", metadata: details)
            }
        }
        metrics.activeRuns.decrement()
        await runs.unregister(request.runID)
        await acknowledge(entry.id)
        await runs.giveBack()
    }

    /// Executes the run (or continues it, once its approval was decided) and does its bookkeeping; nil when the run had
    /// already finished (a redelivery) or cannot continue.
    private func perform(_ request: RunRequest, entryID: String, control: RunControl, logger: Logger) async -> RunOutcome? {
        let runKey = keys.run(request.runID)
        let ids: Logger.Metadata = ["run_id": "\(request.runID)"]
        let status = await retry.run("read the run record", metadata: ids) { try await redis.send("HGET", runKey, RunRecord.Field.status).string }
        if status == RunRecord.Status.done {
            logger.notice("run already finished; acknowledging the redelivery")
            return nil
        }
        var continuation: (paused: PausedRun, verdict: ApprovalVerdict)?
        if let approvalID = request.approvalID {
            guard let loaded = await loadContinuation(of: request, approvalID: approvalID, logger: logger) else { return nil }
            continuation = loaded
        } else {
            metrics.runsStarted.increment()
            logger.info("run started", metadata: ["queued_ms": "\(Self.queuedMilliseconds(request))"])
        }
        _ = await retry.run("mark the run running", metadata: ids) {
            try await RunRecordUpdate.set(
                [
                    RunRecord.Field.status: RunRecord.Status.running, RunRecord.Field.worker: settings.workerID,
                    RunRecord.Field.startedAt: HeraldTimestamp.now(),
                ],
                ofRun: request.runID,
                keys: keys,
                on: redis
            )
        }

        let engine = ExecutionEngine(
            sink: RedisEventSink(redis: redis, keys: keys, threadID: request.threadID, partitions: settings.common.eventPartitions),
            suspender: RedisRunSuspender(
                redis: redis,
                keys: keys,
                partitions: settings.common.eventPartitions,
                queueEntryID: entryID,
                workerID: settings.workerID,
                retentionSeconds: settings.common.historyTTLSeconds
            ),
            model: model,
            tools: tools.adding(await mcp.tools()),
            configuration: settings.engine,
            logger: logger
        )
        let cancelledKey = keys.runCancelled(request.runID)
        let flagged = await retry.run("check for a cancellation", metadata: ids) { try await redis.send("EXISTS", cancelledKey).int == 1 } ?? false
        let stopRequested = await runs.stopRequested(request.runID)
        let outcome: RunOutcome
        let opening: [ConversationTurn]
        if let continuation {
            if flagged {
                // Cancelled while it waited, after the decision: it stops at once, closing what is open.
                await runs.cancel(request.runID, reason: .cancelled)
            }
            opening = continuation.paused.input.openingTurns
            outcome = await runHoldingLease(request.runID, logger: logger) {
                await engine.resume(continuation.paused, after: continuation.verdict, control: control)
            }
        } else if flagged || stopRequested {
            opening = RunInput(request: request, history: []).openingTurns
            outcome = await engine.runCancelledBeforeStart(RunInput(request: request, history: []))
        } else {
            let history = await retry.run("load the conversation", metadata: ids) { try await conversation.load(request.threadID) }
            if history == nil {
                logger.warning("running without the thread's earlier turns")
            }
            let input = RunInput(request: request, history: history ?? [])
            opening = input.openingTurns
            outcome = await runHoldingLease(request.runID, logger: logger) { await engine.run(input, control: control) }
        }
        switch outcome {
        case .eventsLost:
            // The end was not announced: leave the record `running` and let the lease lapse, so the
            // watchdog reports the run lost.
            return outcome
        case .paused:
            // The pause took the run off the queue and freed its lease; whoever decides queues its continuation.
            return outcome
        default:
            break
        }
        var answered = opening
        switch outcome {
        case .completed(let report): answered.append(ConversationTurn(role: .assistant, content: report))
        case .handedToClient(_, let handover): answered += handover
        case .cancelled, .failed, .eventsLost, .paused: break
        }
        let turns = answered
        _ = await retry.run("save the conversation", metadata: ids) { try await conversation.append(turns, to: request.threadID) }
        _ = await retry.run("mark the run done", metadata: ids) {
            try await RunRecordUpdate.set(
                [
                    RunRecord.Field.status: RunRecord.Status.done, RunRecord.Field.outcome: outcome.label,
                    RunRecord.Field.finishedAt: HeraldTimestamp.now(),
                ],
                ofRun: request.runID,
                keys: keys,
                on: redis
            )
        }
        let lease = leaseKey(request.runID)
        _ = await retry.run("release the run lease", metadata: ids) {
            try await redis.evalScript(Self.releaseLease, keys: [lease], arguments: [RedisArgument(settings.workerID)])
        }
        return outcome
    }

    /// Runs the engine's work on a task of its own, so the run can be cancelled alone by id, while holding its lease.
    private func runHoldingLease(_ runID: String, logger: Logger, _ work: @escaping @Sendable () async -> RunOutcome) async -> RunOutcome {
        let runs = self.runs
        return await withLeaseRenewal(runID, logger: logger) {
            let task = Task { await work() }
            await runs.attach(task, to: runID)
            return await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                task.cancel()
            }
        }
    }

    /// What a run paused for approval continues from: its state and the decision. Nil when either is gone; then the
    /// run is closed here, as far as its approval's record tells what is open.
    private func loadContinuation(of request: RunRequest, approvalID: String, logger: Logger) async -> (paused: PausedRun, verdict: ApprovalVerdict)?
    {
        let ids: Logger.Metadata = ["run_id": "\(request.runID)", "approval_id": "\(approvalID)"]
        let pausedKey = keys.runPaused(request.runID)
        let loaded = await retry.run("load the paused run", metadata: ids) {
            let text = try await redis.send("GET", pausedKey).string
            let record = try await ApprovalRecord.load(approvalID, keys: keys, on: redis)
            return (text.flatMap { try? PausedRun.decode($0) }, record)
        }
        guard let (paused, record) = loaded else { return nil }
        guard let record, let verdict = ApprovalVerdict(record) else {
            logger.error("cannot continue a paused run: its approval is gone or undecided", metadata: ids)
            return nil
        }
        guard let paused, paused.approval.approvalID == approvalID else {
            logger.error("cannot continue a paused run: its state is gone; closing it", metadata: ids)
            await closeUncontinuable(record, logger: logger)
            return nil
        }
        if let requested = HeraldTimestamp.parse(record.requestedAt), let decided = record.decidedAt.flatMap(HeraldTimestamp.parse) {
            metrics.recordDecision(verdict.decision, after: .milliseconds(max(0, Int(decided.timeIntervalSince(requested) * 1000))))
        }
        logger.info("run continues after its approval", metadata: ["decision": "\(verdict.decision.rawValue)", "approval_id": "\(approvalID)"])
        return (paused, verdict)
    }

    /// Closes a run whose paused state was lost: its call fails, then its agent and the supervisor, so it still ends.
    private func closeUncontinuable(_ record: ApprovalRecord, logger: Logger) async {
        var progress = RunProgress()
        progress.apply(
            AgentEvent(
                threadID: record.threadID,
                runID: record.runID,
                agentName: AgentName.supervisor,
                payload: .agentStarted(.init(agentName: AgentName.supervisor))
            )
        )
        progress.apply(
            AgentEvent(
                threadID: record.threadID,
                runID: record.runID,
                agentName: record.agent,
                payload: .agentStarted(.init(agentName: record.agent, parentAgent: AgentName.supervisor))
            )
        )
        progress.apply(
            AgentEvent(
                threadID: record.threadID,
                runID: record.runID,
                agentName: record.agent,
                payload: .toolExecuting(.init(toolCallID: record.toolCallID, toolName: record.toolName, arguments: record.arguments))
            )
        )
        let closing = progress.closingEvents(
            threadID: record.threadID,
            runID: record.runID,
            code: .internal,
            message: "the paused run's state was lost",
            retryable: true
        )
        let sink = RedisEventSink(redis: redis, keys: keys, threadID: record.threadID, partitions: settings.common.eventPartitions)
        for event in closing {
            _ = await retry.run("close a run that cannot continue", metadata: ["run_id": "\(record.runID)"]) { try await sink.emit(event) }
        }
        _ = await retry.run("mark the run done", metadata: ["run_id": "\(record.runID)"]) {
            try await RunRecordUpdate.set(
                [RunRecord.Field.status: RunRecord.Status.done, RunRecord.Field.outcome: "internal"],
                ofRun: record.runID,
                keys: keys,
                on: redis
            )
        }
    }

    /// Runs `body` while renewing the run's lease every third of its lifetime. The renewal also
    /// checks the run's cancellation key, which catches a cancellation whose message was missed.
    private func withLeaseRenewal(_ runID: String, logger: Logger, _ body: () async -> RunOutcome) async -> RunOutcome {
        let lease = leaseKey(runID)
        let record = keys.run(runID)
        let cancelledKey = keys.runCancelled(runID)
        let leaseMs = settings.runLease.milliseconds
        let period = settings.runLease / 3
        return await withTaskGroup(of: Void.self, returning: RunOutcome.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do {
                        _ = try await redis.evalScript(
                            Self.renewLease,
                            keys: [lease, record],
                            arguments: [RedisArgument(settings.workerID), RedisArgument(leaseMs)]
                        )
                        if try await redis.send("EXISTS", cancelledKey).int == 1, await runs.cancel(runID, reason: .cancelled) {
                            logger.info("run cancellation found")
                        }
                    } catch {
                        logger.warning("cannot renew the run lease", metadata: ["error": "\(error)"])
                    }
                    try? await Task.sleep(for: period)
                }
            }
            let outcome = await body()
            group.cancelAll()
            return outcome
        }
    }

    /// Takes the entry off the queue: acknowledged for the group and deleted from the stream.
    private func acknowledge(_ entryID: String) async {
        let queue = keys.runQueue
        _ = await retry.run("acknowledge the run queue entry", metadata: ["entry_id": "\(entryID)"]) {
            let replies = try await redis.pipeline([
                ["XACK", RedisArgument(queue), RedisArgument(RedisKeys.runConsumerGroup), RedisArgument(entryID)],
                ["XDEL", RedisArgument(queue), RedisArgument(entryID)],
            ])
            for reply in replies {
                if case .failure(let error) = reply { throw error }
            }
        }
    }

    private static func queuedMilliseconds(_ request: RunRequest) -> Int {
        guard let enqueued = HeraldTimestamp.parse(request.enqueuedAt) else { return 0 }
        return max(0, Int(Date().timeIntervalSince(enqueued) * 1000))
    }
}
