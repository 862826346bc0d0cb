import ArgumentParser
import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import Redis
import Relay

/// `herald-bench relay`: the relay alone, on events fed straight into its partition streams.
struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Measures the relay alone: events/s sequenced, stored in history and published.",
        discussion: """
            Feeds --events events (runs of 15 events on --threads threads) into the partition streams with pipelined \
            XADD (as workers write them), run by run or with --interleave event by event across threads, then runs RelayService in this process and times it until \
            every event is published and deleted from its partition. A few threads' channels are subscribed and \
            their frames checked against the run rules; afterwards their seq counters and histories are checked.
            Uses a private redis-server unless --redis-url is given (then under a key prefix of its own, removed afterwards).
            """
    )

    @Option(help: "Redis to use (default: start a private redis-server).")
    var redisURL: String?

    @Option(help: "Events to feed (rounded up to whole runs on every thread).")
    var events = 200_000

    @Option(help: "Threads the events belong to.")
    var threads = 1_000

    @Option(help: "Event partitions (HERALD_EVENT_PARTITIONS).")
    var partitions = 8

    @Option(help: "Events the relay reads per round trip (HERALD_RELAY_BATCH).")
    var batch = 2_048

    @Option(help: "Most events one publish script call appends (HERALD_RELAY_SCRIPT_EVENTS).")
    var scriptEvents = 512

    @Flag(
        help:
            "Feed event by event across threads (event 1 of every thread's run, then event 2, …) instead of run by run, so a relay batch holds few events of each thread: the worst case for per-thread batching."
    )
    var interleave = false

    @Option(help: "XADD commands per pipeline while feeding.")
    var feedPipeline = 1_000

    @Option(help: "Threads whose channels are subscribed and validated.")
    var sampleThreads = 8

    @Option(help: "Seconds to wait for the relay to drain.")
    var timeout = 120.0

    @Option(help: "Target: relay events/s at least this share of redis-benchmark's pipelined PUBLISH.")
    var targetRatio = 0.10

    @OptionGroup var output: ResultOptions

    mutating func validate() throws {
        guard events > 0, threads > 0, partitions > 0, batch > 0, scriptEvents > 0, feedPipeline > 0, sampleThreads >= 0, timeout > 0 else {
            throw ValidationError("--events, --threads, --partitions, --batch, --script-events, --feed-pipeline and --timeout must be positive")
        }
    }

    func run() async throws {
        let logger = quietLogger("herald-bench.relay", .warning)
        let server: RedisServerProcess? = redisURL == nil ? try await RedisServerProcess.start() : nil
        let url = redisURL ?? server!.url
        let prefix = "bench-relay-\(UInt32.random(in: 0...UInt32.max))"
        let configuration = try RedisConfiguration(url: url)
        let feeder = RedisClient(configuration: configuration, logger: logger)
        do {
            try await measure(configuration: configuration, feeder: feeder, keys: RedisKeys(prefix: prefix), logger: logger)
        } catch {
            await cleanUp(feeder: feeder, prefix: prefix, server: server)
            throw error
        }
        await cleanUp(feeder: feeder, prefix: prefix, server: server)
    }

    private func cleanUp(feeder: RedisClient, prefix: String, server: RedisServerProcess?) async {
        if let server {
            await feeder.close()
            await server.stop()
            return
        }
        // A shared Redis: remove every key of this run.
        var cursor = "0"
        repeat {
            guard let reply = try? await feeder.send("SCAN", cursor, "MATCH", "\(prefix):*", "COUNT", "1000"),
                let parts = reply.array, parts.count == 2, let next = parts[0].string
            else { break }
            let keys = (parts[1].array ?? []).compactMap(\.string)
            if !keys.isEmpty {
                _ = try? await feeder.send(["UNLINK"] + keys.map { RedisArgument($0) })
            }
            cursor = next
        } while cursor != "0"
        await feeder.close()
    }

    private func measure(configuration: RedisConfiguration, feeder: RedisClient, keys: RedisKeys, logger: Logger) async throws {
        let runsPerThread = max(1, (events + threads * SyntheticRun.eventsPerRun - 1) / (threads * SyntheticRun.eventsPerRun))
        let total = runsPerThread * threads * SyntheticRun.eventsPerRun
        let threadIDs = (0..<threads).map { "thr_bench\($0)" }
        print(
            "relay: \(configuration.url), \(Format.grouped(Double(total))) events (\(threads) threads × \(runsPerThread) runs × \(SyntheticRun.eventsPerRun)), \(partitions) partitions, relay batch \(batch), \(scriptEvents) events per script call"
        )

        // Feed: every run's events in order into its thread's partition.
        var commands: [[RedisArgument]] = []
        commands.reserveCapacity(total)
        for run in 0..<runsPerThread {
            let runs = threadIDs.map { threadID in
                (
                    stream: RedisArgument(keys.eventPartition(RedisKeys.partition(of: threadID, partitions: partitions))),
                    events: SyntheticRun.events(threadID: threadID, runID: "run_bench\(run)_\(threadID)")
                )
            }
            func xadd(_ stream: RedisArgument, _ event: AgentEvent) -> [RedisArgument] {
                ["XADD", stream, "*"] + PartitionEntry(event).fields.flatMap { [RedisArgument($0.0), $0.1] }
            }
            if interleave {
                for index in 0..<SyntheticRun.eventsPerRun {
                    for run in runs { commands.append(xadd(run.stream, run.events[index])) }
                }
            } else {
                for run in runs {
                    for event in run.events { commands.append(xadd(run.stream, event)) }
                }
            }
        }
        let feedStart = WallClock.now()
        var index = 0
        while index < commands.count {
            let end = min(index + feedPipeline, commands.count)
            for result in try await feeder.pipeline(Array(commands[index..<end])) {
                _ = try result.get()
            }
            index = end
        }
        let feedSeconds = WallClock.now() - feedStart
        commands = []
        print(
            "      fed in \(String(format: "%.2f", feedSeconds)) s (\(Format.grouped(Double(total) / feedSeconds)) XADD/s pipelined by this client)"
        )

        // Watch a few threads' channels as a gateway would.
        let eventsPerThread = runsPerThread * SyntheticRun.eventsPerRun
        let subscriber = RedisSubscriber(configuration: configuration, bufferSize: eventsPerThread + 64, logger: logger)
        let subscriberTask = Task { try await subscriber.run() }
        let sampled = Array(threadIDs.prefix(sampleThreads))
        let watchers = NIOLockedValueBox([String: RunRulesValidator]())
        var watchTasks: [Task<Void, Never>] = []
        for threadID in sampled {
            let subscription = try await subscriber.subscribe(keys.threadChannel(threadID))
            watchTasks.append(
                Task {
                    do {
                        for try await event in subscription {
                            guard case .message(let message) = event else { continue }
                            for text in ThreadChannelMessage.frames(in: message) {
                                guard let frame = try? EventFrame.decode(String(buffer: text)) else { continue }
                                watchers.withLockedValue { $0[threadID, default: RunRulesValidator()].observe(frame) }
                            }
                        }
                    } catch {
                        // The subscriber stopped: the frame count below tells whether anything was missed.
                    }
                }
            )
        }

        // The relay, in this process.
        let registry = PrometheusCollectorRegistry()
        let settings = RelaySettings(
            common: CommonSettings(
                redis: configuration,
                keys: keys,
                logLevel: .warning,
                historySize: 1000,
                historyTTLSeconds: 3600,
                eventPartitions: partitions
            ),
            relayID: "bench-relay",
            batchSize: batch,
            scriptEvents: scriptEvents,
            adminHost: "127.0.0.1",
            adminPort: 0
        )
        // CPU of this process (the relay) and of redis-server, whose pid INFO tells.
        let info = try await feeder.send("INFO", "server").string ?? ""
        let redisPid = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }.flatMap {
            Int32($0.dropFirst("process_id:".count).trimmingCharacters(in: .whitespaces))
        }
        let processes =
            [WatchedProcess(name: "relay (this process)", pid: getpid())] + (redisPid.map { [WatchedProcess(name: "redis-server", pid: $0)] } ?? [])
        let cpuBefore = CPUSnapshot.take(processes)
        let scriptBefore = try await Self.evalshaStats(feeder)
        let relayClient = RedisClient(configuration: configuration, logger: logger)
        let relay = RelayService(settings: settings, redis: relayClient, metrics: RelayMetrics(registry: registry), logger: logger)
        let relayStart = WallClock.now()
        let relayTask = Task { try await relay.run() }

        // Poll its counters until every event is accounted for: published, or dropped as a duplicate, as late
        // (its run had ended) or as malformed — the drops are errors, but waiting for them would never end.
        var progress: [(time: Double, count: Double)] = []
        var firstPublish: Double?
        var published = 0.0
        let deadline = relayStart + timeout
        while WallClock.now() < deadline {
            let text = PrometheusText(registry.emitToString())
            published = text.value("herald_relay_events_published_total") ?? 0
            let dropped = ["herald_relay_duplicates_dropped_total", "herald_relay_late_events_dropped_total", "herald_relay_malformed_events_total"]
                .reduce(0) { $0 + (text.value($1) ?? 0) }
            let now = WallClock.now()
            if published > 0, firstPublish == nil { firstPublish = progress.last?.time ?? relayStart }
            progress.append((now, published + dropped))
            if published + dropped >= Double(total) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let done = progress.last?.time ?? WallClock.now()
        let cpuUsage = CPUSnapshot.take(processes).usage(since: cpuBefore, order: processes)
        let scriptAfter = try await Self.evalshaStats(feeder)
        let scriptCalls = scriptAfter.calls - scriptBefore.calls
        // One script call publishes a run of one thread's events, so the time is shared by every event fed.
        let microsPerScript = scriptCalls > 0 ? (scriptAfter.usec - scriptBefore.usec) / Double(total) : nil
        let eventsPerCall = scriptCalls > 0 ? Double(total) / scriptCalls : nil
        // Published means the script ran; the partition entries are deleted right after, per batch.
        var remaining = 0
        for _ in 0..<200 {
            remaining = 0
            for partition in 0..<partitions {
                remaining += try await feeder.send("XLEN", keys.eventPartition(partition)).int ?? 0
            }
            if remaining == 0 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        relayTask.cancel()
        _ = try? await relayTask.value
        await relayClient.close()

        let relayText = PrometheusText(registry.emitToString())
        let duplicates = relayText.value("herald_relay_duplicates_dropped_total") ?? 0
        let malformed = relayText.value("herald_relay_malformed_events_total") ?? 0
        let late = relayText.value("herald_relay_late_events_dropped_total") ?? 0

        // Check what the relay stored for the sampled threads, and what their channels carried.
        try await Task.sleep(for: .milliseconds(200))
        var problems: [String] = []
        // Every thread's seq counter and history size, pipelined.
        var checks: [[RedisArgument]] = []
        for threadID in threadIDs {
            checks.append(["HGET", RedisArgument(keys.threadLogState(threadID)), "seq"])
            checks.append(["LLEN", RedisArgument(keys.threadHistory(threadID))])
        }
        let answers = try await feeder.pipeline(checks)
        var shortThreads: [String] = []
        for (offset, threadID) in threadIDs.enumerated() {
            let seq = (try? answers[2 * offset].get())?.int ?? 0
            let stored = (try? answers[2 * offset + 1].get())?.int ?? 0
            if seq != eventsPerThread || stored != min(eventsPerThread, settings.common.historySize) {
                shortThreads.append("\(threadID) (seq \(seq), history \(stored))")
            }
        }
        if !shortThreads.isEmpty {
            problems.append(
                "\(shortThreads.count) threads do not hold all \(eventsPerThread) events: \(shortThreads.prefix(3).joined(separator: ", "))"
            )
        }
        subscriberTask.cancel()
        _ = try? await subscriberTask.value
        for task in watchTasks { await task.value }
        let validators = watchers.withLockedValue { $0 }
        var violations: [RunRuleViolation] = []
        for threadID in sampled {
            let validator = validators[threadID] ?? RunRulesValidator()
            if validator.framesObserved != eventsPerThread {
                problems.append("\(threadID): its channel carried \(validator.framesObserved) frames, expected \(eventsPerThread)")
            }
            violations += validator.finish(requireComplete: true)
        }
        if published < Double(total) { problems.append("only \(Int(published)) of \(total) events published") }
        if remaining > 0 { problems.append("\(remaining) entries left in the partitions") }
        if duplicates > 0 || malformed > 0 || late > 0 {
            problems.append(
                "the relay dropped \(Int(duplicates)) events as duplicates, \(Int(late)) as after their run's end, \(Int(malformed)) as malformed (each was fed once, in order)"
            )
        }

        let start = firstPublish ?? relayStart
        let rate = Double(total) / max(done - start, 1e-9)
        let overall = Double(total) / max(done - relayStart, 1e-9)
        let steady = Self.steadyRate(progress, total: Double(total))
        print("")
        print("relay results:")
        print(
            "  events/s sequenced + stored + published: \(Format.grouped(rate)) (first to last event, \(String(format: "%.2f", done - start)) s; \(Format.grouped(published)) published)"
        )
        print(
            "  including start-up (lease, consumer groups): \(Format.grouped(overall)); steady state (10%–90% of events): \(steady.map(Format.grouped) ?? "-")"
        )
        print("  sampled threads: \(sampled.count), run-rules violations \(violations.count), problems \(problems.count)")
        for problem in problems.prefix(10) { print("    problem: \(problem)") }
        for violation in violations.prefix(5) { print("    violation: \(violation)") }
        CPUReport.print(cpuUsage)
        if let microsPerScript {
            print(
                "  Redis time per event (the publish script, INFO commandstats): \(String(format: "%.1f", microsPerScript)) µs, so Redis alone allows \(Format.grouped(1e6 / microsPerScript)) events/s"
            )
            print("  events per script call: \(String(format: "%.1f", eventsPerCall ?? 0)) (\(interleave ? "interleaved" : "run-by-run") feed)")
        }

        // The interleaved feed is a second row set of its own, so the suite can run both.
        let stage = interleave ? "relay mixed" : "relay"
        let idPrefix = interleave ? "relay_mixed" : "relay"
        var sink = ResultSink(path: output.results)
        sink.add(
            stage,
            idPrefix + ".events_per_second",
            "relay events/s (sequence + history + publish)",
            rate,
            .perSecond,
            target: .ceilingRatioAtLeast(targetRatio),
            ceiling: "publish"
        )
        if let steady {
            sink.add(stage, idPrefix + ".events_per_second.steady", "relay events/s, steady state (10–90%)", steady, .perSecond, ceiling: "publish")
        }
        sink.add(
            stage,
            idPrefix + ".feed_xadd_per_second",
            "feed: pipelined XADD/s (this client)",
            Double(total) / feedSeconds,
            .perSecond,
            ceiling: "xadd"
        )
        sink.add(
            stage,
            idPrefix + ".violations",
            "relay run-rules violations (sampled threads)",
            Double(violations.count),
            .count,
            target: .atMost(0)
        )
        sink.add(
            stage,
            idPrefix + ".errors",
            "relay problems (lost, duplicated, left over)",
            Double(problems.count),
            .count,
            target: .atMost(0),
            note: problems.isEmpty ? nil : problems.joined(separator: "; ")
        )
        if let microsPerScript {
            sink.add(stage, idPrefix + ".redis_usec_per_event", "Redis time per event (publish script)", microsPerScript, .microseconds)
            sink.add(
                stage,
                idPrefix + ".redis_bound",
                "events/s Redis alone allows (1 / script time)",
                1e6 / microsPerScript,
                .perSecond,
                ceiling: "publish"
            )
        }
        if let eventsPerCall {
            sink.add(
                stage,
                idPrefix + ".events_per_script_call",
                "events per publish script call (\(interleave ? "interleaved" : "run-by-run") feed)",
                eventsPerCall,
                .count
            )
        }
        CPUReport.record(cpuUsage, into: &sink, stage: stage + " cpu", prefix: idPrefix)
        try sink.write()
    }

    /// Calls and microseconds Redis spent in EVALSHA so far (`INFO commandstats`).
    private static func evalshaStats(_ client: RedisClient) async throws -> (calls: Double, usec: Double) {
        let text = try await client.send("INFO", "commandstats").string ?? ""
        guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:") }) else { return (0, 0) }
        var calls = 0.0
        var usec = 0.0
        for pair in line.dropFirst("cmdstat_evalsha:".count).split(separator: ",") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            if parts[0] == "calls" { calls = value }
            if parts[0] == "usec" { usec = value }
        }
        return (calls, usec)
    }

    /// Events/s between the polls at which 10% and 90% of the events were out.
    private static func steadyRate(_ progress: [(time: Double, count: Double)], total: Double) -> Double? {
        guard let low = progress.first(where: { $0.count >= 0.1 * total }), let high = progress.first(where: { $0.count >= 0.9 * total }),
            high.time > low.time
        else {
            return nil
        }
        return (high.count - low.count) / (high.time - low.time)
    }
}
