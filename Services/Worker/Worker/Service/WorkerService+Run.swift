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
        if let outcome = await perform(request, control: control, logger: logger) {
            let duration = clock.now - start
            metrics.record(outcome, duration: duration)
            var details: Logger.Metadata = ["outcome": "\(outcome.label)", "duration_ms": "\(duration.milliseconds)"]
            if case .failed(_, let message) = outcome { details["message"] = "\(LogText.truncated(message))" }
            if case .eventsLost(let message) = outcome { details["message"] = "\(LogText.truncated(message))" }
            switch outcome {
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

    /// Executes the run and does its bookkeeping; nil when the run had already finished (a redelivery).
    private func perform(_ request: RunRequest, control: RunControl, logger: Logger) async -> RunOutcome? {
        let runKey = keys.run(request.runID)
        let ids: Logger.Metadata = ["run_id": "\(request.runID)"]
        let status = await retry.run("read the run record", metadata: ids) { try await redis.send("HGET", runKey, RunRecord.Field.status).string }
        if status == RunRecord.Status.done {
            logger.notice("run already finished; acknowledging the redelivery")
            return nil
        }
        metrics.runsStarted.increment()
        logger.info("run started", metadata: ["queued_ms": "\(Self.queuedMilliseconds(request))"])
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
            model: model,
            tools: tools,
            configuration: settings.engine,
            logger: logger
        )
        let cancelledKey = keys.runCancelled(request.runID)
        let flagged = await retry.run("check for a cancellation", metadata: ids) { try await redis.send("EXISTS", cancelledKey).int == 1 } ?? false
        let stopRequested = await runs.stopRequested(request.runID)
        let outcome: RunOutcome
        if flagged || stopRequested {
            outcome = await engine.runCancelledBeforeStart(RunInput(request: request, history: []))
        } else {
            let history = await retry.run("load the conversation", metadata: ids) { try await conversation.load(request.threadID) }
            if history == nil {
                logger.warning("running without the thread's earlier turns")
            }
            let input = RunInput(request: request, history: history ?? [])
            let runs = self.runs
            outcome = await withLeaseRenewal(request.runID, logger: logger) {
                // The run gets a task of its own so it can be cancelled alone, by id.
                let task = Task { await engine.run(input, control: control) }
                await runs.attach(task, to: request.runID)
                return await withTaskCancellationHandler {
                    await task.value
                } onCancel: {
                    task.cancel()
                }
            }
        }
        if case .eventsLost = outcome {
            // The end was not announced: leave the record `running` and let the lease lapse, so the
            // watchdog reports the run lost.
            return outcome
        }
        var answered = RunInput(request: request, history: []).openingTurns
        switch outcome {
        case .completed(let report): answered.append(ConversationTurn(role: .assistant, content: report))
        case .handedToClient(_, let handover): answered += handover
        case .cancelled, .failed, .eventsLost: break
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

    /// Runs `body` while renewing the run's lease every third of its lifetime. The renewal also
    /// checks the run's cancellation key, which catches a cancellation whose message was missed.
    private func withLeaseRenewal(_ runID: String, logger: Logger, _ body: () async -> RunOutcome) async -> RunOutcome {
        let lease = leaseKey(runID)
        let cancelledKey = keys.runCancelled(runID)
        let leaseMs = settings.runLease.milliseconds
        let period = settings.runLease / 3
        return await withTaskGroup(of: Void.self, returning: RunOutcome.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do {
                        let replies = try await redis.pipeline([
                            ["SET", RedisArgument(lease), RedisArgument(settings.workerID), "PX", RedisArgument(leaseMs)],
                            ["EXISTS", RedisArgument(cancelledKey)],
                        ])
                        if case .success(let exists)? = replies.last, exists.int == 1, await runs.cancel(runID, reason: .cancelled) {
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
