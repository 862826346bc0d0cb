import ArgumentParser
import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import NIOConcurrencyHelpers
import Redis

/// `herald-bench fanout`: the gateway's fan-out alone — frames published on one thread that many connections watch.
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "Measures the gateway's fan-out: frames/s delivered to many connections watching one thread.",
        discussion: """
            One connection (a guest) starts a run and waits for it to end; --connections minus one more connect with \
            its guest token and `resume` the thread. Then --frames frames shaped like the relay's (seq counting on, \
            the thread's epoch) are added to the thread's history and PUBLISHed on its channel, straight into Redis, \
            in pipelined batches, keeping at most --window frames that not every connection has received yet. \
            Every connection checks seq (no gap, no duplicate); --validate-connections of them also run every frame \
            through the run-rules validator.
            """
    )

    @OptionGroup var gateway: GatewayOptions

    @Option(help: "The deployment's Redis.")
    var redisURL = "redis://127.0.0.1:6379"

    @Option(help: "The deployment's key prefix (HERALD_KEY_PREFIX).")
    var keyPrefix = "herald"

    @Option(help: "Connections watching the thread.")
    var connections = 100

    @Option(help: "Frames published (rounded up to whole batches).")
    var frames = 5_000

    @Option(help: "Frames per batch: appended to history and published in one channel message, as the relay publishes one call's frames.")
    var publishBatch = 32

    @Option(help: "Frames published but not yet received by every connection, at most.")
    var window = 256

    @Option(help: "Connections that decode every frame and run the run-rules validator.")
    var validateConnections = 2

    @Option(help: "History kept per thread (HERALD_HISTORY_SIZE), trimmed as the relay does.")
    var historySize = 1_000

    @Option(help: "The message of the run that creates the thread.")
    var message = "what is (17*3)+4?"

    @Option(help: "Seconds to wait for every frame to arrive.")
    var timeout = 120.0

    @Option(help: "Connections opened at once.")
    var connectConcurrency = 64

    @Option(help: "Target: frames/s delivered across all connections.")
    var targetFramesPerSecond = 50_000.0

    @Option(name: .customLong("watch"), help: "A process whose CPU use while publishing is reported, name=pid (repeatable).")
    var watched: [WatchedProcess] = []

    @OptionGroup var output: ResultOptions

    mutating func validate() throws {
        guard connections > 0, frames > 0, publishBatch > 0, window >= publishBatch, timeout > 0, connectConcurrency > 0 else {
            throw ValidationError("--connections, --frames, --publish-batch and --timeout must be positive and --window at least --publish-batch")
        }
    }

    func run() async throws {
        raiseFileLimit()
        let target = try gateway.target()
        let logger = quietLogger("herald-bench.fanout", .error)
        let keys = RedisKeys(prefix: keyPrefix)
        let batches = (frames + publishBatch - 1) / publishBatch
        let total = batches * publishBatch
        print(
            "fanout: \(target), \(connections) connections on one thread, \(Format.grouped(Double(total))) frames in batches of \(publishBatch), window \(window)"
        )

        // The owner: a guest who starts a run, so the thread exists and has an epoch and a seq.
        let watchers = (0..<connections).map { FanoutWatcher(index: $0, validates: $0 < validateConnections) }
        let owner = try await connect(target, token: nil, watchers[0], logger)
        var ownerSignals = watchers[0].signals.makeAsyncIterator()
        try await owner.send(.userMessage(.init(content: message, clientMessageID: "fanout-setup")))
        var threadID: String?
        var runID: String?
        var base: (seq: Int, epoch: String)?
        let setupDeadline = Task {
            try await Task.sleep(for: .seconds(30))
            owner.abandon()
        }
        while base == nil, let signal = await ownerSignals.next() {
            switch signal {
            case .queued(let run, let thread):
                runID = run
                threadID = thread
            case .ended(let run, let seq, let epoch) where run == runID: base = (seq, epoch)
            case .error(let error): throw ValidationError("the set-up run failed: \(error)")
            case .closed: throw ValidationError("the gateway closed the owner's connection during set-up")
            default: break
            }
        }
        setupDeadline.cancel()
        guard let threadID, let base, let token = owner.established.guestToken else {
            throw ValidationError("the set-up run did not complete (is the deployment up, and in guest mode?)")
        }
        print("      thread \(threadID): set-up run ended at seq \(base.seq), epoch \(base.epoch)")

        // The other watchers: the same user, resuming after the run.
        let connectStart = WallClock.now()
        let others: [BenchSocket?] = await boundedConcurrentMap(connections - 1, width: connectConcurrency) { offset in
            let watcher = watchers[offset + 1]
            do {
                let socket = try await self.connect(target, token: token, watcher, logger)
                var signals = watcher.signals.makeAsyncIterator()
                try await socket.send(.resume(.init(threadID: threadID, afterSeq: base.seq, epoch: base.epoch)))
                while let signal = await signals.next() {
                    switch signal {
                    case .resumed(let resumed) where resumed.threadID == threadID:
                        if !resumed.recovered || resumed.lastSeq != base.seq {
                            watcher.fail("resumed with recovered \(resumed.recovered), last_seq \(resumed.lastSeq) (expected \(base.seq))")
                        }
                        return socket
                    case .error(let error):
                        watcher.fail("resume refused: \(error)")
                        await socket.close()
                        return nil
                    case .closed:
                        watcher.fail("closed while resuming")
                        return nil
                    default:
                        continue
                    }
                }
                return nil
            } catch {
                watcher.fail("connect failed: \(error)")
                return nil
            }
        }
        let sockets = [owner] + others
        let live = sockets.compactMap { $0 }.count
        print("      \(live)/\(connections) connections watching in \(String(format: "%.1f", WallClock.now() - connectStart)) s")
        guard live == connections else {
            let reasons = Set(watchers.flatMap { $0.result.errors }).prefix(3).joined(separator: "; ")
            for socket in sockets { await socket?.close() }
            throw ValidationError("only \(live) of \(connections) connections could watch the thread: \(reasons)")
        }

        // Measure.
        let progress = FanoutProgress(batches: batches, connections: connections)
        for watcher in watchers { watcher.startMeasuring(baseSeq: base.seq, batchSize: publishBatch, progress: progress) }
        let gatewayBefore = try? await target.metrics.scrape()
        let publisher = RedisClient(configuration: try RedisConfiguration(url: redisURL), logger: logger)
        let fanoutRunID = Identifier.make("run")
        let inFlightBatches = max(1, window / publishBatch)
        let timeoutTask = Task {
            try await Task.sleep(for: .seconds(timeout))
            progress.abandon()
        }
        var publishErrors = 0
        let processes = watched + [WatchedProcess.current]
        let cpuBefore = CPUSnapshot.take(processes)
        let start = WallClock.now()
        var completed = true
        for batch in 0..<batches {
            if batch >= inFlightBatches, await !progress.wait(for: batch - inFlightBatches) {
                completed = false
                break
            }
            let timestamp = HeraldTimestamp.now()
            // As the relay does: the batch's frames appended to history and published in one message.
            var frames: [String] = []
            frames.reserveCapacity(publishBatch)
            for position in (batch * publishBatch + 1)...((batch + 1) * publishBatch) {
                let event = Self.event(position: position, of: total, threadID: threadID, runID: fanoutRunID, timestamp: timestamp)
                frames.append(EventFrame.splice(seq: base.seq + position, epoch: base.epoch, eventJSON: event.encodedJSON()))
            }
            let history = RedisArgument(keys.threadHistory(threadID))
            let commands: [[RedisArgument]] = [
                ["RPUSH", history] + frames.map { RedisArgument($0) },
                ["LTRIM", history, RedisArgument(-historySize), "-1"],
                ["HSET", RedisArgument(keys.threadLogState(threadID)), "seq", RedisArgument(base.seq + (batch + 1) * publishBatch)],
                ["PUBLISH", RedisArgument(keys.threadChannel(threadID)), RedisArgument(frames.joined(separator: "\n"))],
            ]
            do {
                for result in try await publisher.pipeline(commands) where (try? result.get()) == nil {
                    publishErrors += 1
                }
            } catch {
                publishErrors += 1
                completed = false
                break
            }
        }
        if completed {
            completed = await progress.wait(for: batches - 1)
        }
        timeoutTask.cancel()
        let cpuUsage = CPUSnapshot.take(processes).usage(since: cpuBefore, order: processes)
        let end = progress.completedAt(batches - 1) ?? WallClock.now()
        let seconds = max(end - start, 1e-9)
        let gatewayAfter = try? await target.metrics.scrape()
        await publisher.close()
        _ = await boundedConcurrentMap(sockets.count, width: 128) { index in
            await sockets[index]?.close()
        }

        // Tally.
        var delivered = 0
        var sequenceViolations = 0
        var violations: [RunRuleViolation] = []
        var samples = LatencySamples()
        var errors: [String] = []
        var unknown = 0
        for watcher in watchers {
            let tally = watcher.result
            delivered += tally.frames
            sequenceViolations += tally.sequenceViolations
            samples.merge(tally.samples)
            errors += tally.errors
            unknown += tally.unknownFrames
            if watcher.validates { violations += tally.validator.finish(requireComplete: completed) }
        }
        if !completed { errors.append("not every connection received every frame within \(Int(timeout)) s (\(delivered) of \(total * connections))") }
        if publishErrors > 0 { errors.append("\(publishErrors) publish commands failed") }
        let slowConsumers =
            (gatewayAfter?.value("herald_gateway_slow_consumer_disconnects_total") ?? 0)
            - (gatewayBefore?.value("herald_gateway_slow_consumer_disconnects_total") ?? 0)
        if slowConsumers > 0 { errors.append("the gateway closed \(Int(slowConsumers)) connections as slow consumers") }
        let framesPerSecond = Double(delivered) / seconds
        let latency = samples.summary()

        print("")
        print("fanout results (\(String(format: "%.2f", seconds)) s from first publish to last receipt):")
        print(
            "  frames/s delivered across \(connections) connections: \(Format.grouped(framesPerSecond)) (\(Format.grouped(Double(delivered))) frames); published \(Format.grouped(Double(total) / seconds)) frames/s"
        )
        if let latency { print("  publish → receipt latency (mostly queueing inside the --window of \(window) frames): \(latency.line)") }
        print(
            "  seq violations (all connections) \(sequenceViolations); run-rules violations (\(min(validateConnections, connections)) validated connections) \(violations.count); errors \(errors.count + unknown)"
        )
        for error in Array(Set(errors)).prefix(5) { print("    error: \(error)") }
        for violation in violations.prefix(5) { print("    violation: \(violation)") }
        CPUReport.print(cpuUsage)

        var sink = ResultSink(path: output.results)
        let stage = "fanout"
        sink.add(
            stage,
            "fanout.frames_per_second",
            "fan-out frames/s delivered (\(connections) conns × 1 thread)",
            framesPerSecond,
            .perSecond,
            target: .atLeast(targetFramesPerSecond),
            ceiling: "publish"
        )
        sink.add(stage, "fanout.publish_per_second", "fan-out frames/s published (one thread)", Double(total) / seconds, .perSecond)
        sink.add(
            stage,
            "fanout.violations",
            "fan-out seq + run-rules violations",
            Double(sequenceViolations + violations.count),
            .count,
            target: .atMost(0)
        )
        sink.add(stage, "fanout.errors", "fan-out errors", Double(errors.count + unknown), .count, target: .atMost(0))
        CPUReport.record(cpuUsage, into: &sink, stage: "fanout cpu", prefix: "fanout")
        try sink.write()
    }

    private func connect(_ target: GatewayTarget, token: String?, _ watcher: FanoutWatcher, _ logger: Logger) async throws -> BenchSocket {
        let socket = try await BenchSocket.connect(target, token: token, logger: logger) { data, receivedAt in
            watcher.received(data, at: receivedAt)
        }
        Task {
            _ = await socket.closed()
            watcher.closed()
        }
        return socket
    }

    /// The benchmark's run: the supervisor starts, streams `total - 2` pieces of text, completes.
    private static func event(position: Int, of total: Int, threadID: String, runID: String, timestamp: String) -> AgentEvent {
        let supervisor = AgentName.supervisor
        let payload: EventPayload =
            switch position {
            case 1: .agentStarted(.init(agentName: supervisor))
            case total: .agentCompleted(.init(agentName: supervisor, status: .success, durationMs: 0))
            default: .partialResult(.init(content: " word\(position)", isComplete: false))
            }
        return AgentEvent(threadID: threadID, runID: runID, agentName: supervisor, timestamp: timestamp, payload: payload)
    }
}

/// Raises the soft limit of open files to the hard limit: thousands of sockets need it.
func raiseFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
