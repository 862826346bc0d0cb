import ArgumentParser
import Foundation
import HeraldProtocol
import Logging

/// `herald-bench load`: the whole path, driven through the browser protocol only.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Drives a running deployment through the WebSocket protocol and measures end-to-end event latency.",
        discussion: """
            Opens --sessions WebSocket connections (each a new guest with one thread) and sends runs at \
            --runs-per-second in total, spread evenly over the sessions and over time. Every frame goes through the \
            run-rules validator. Latency is the frame's `timestamp` (the worker's emit time, millisecond precision) \
            to its receipt here. With --relay-metrics and the gateway's /metrics it also prints the per-stage split: \
            worker → relay publish (herald_relay_event_delay_seconds), worker → gateway write \
            (herald_gateway_event_latency_seconds), worker → client receipt.
            """
    )

    @OptionGroup var gateway: GatewayOptions

    @Option(help: "Concurrent WebSocket sessions.")
    var sessions = 500

    @Option(help: "Runs started per second across all sessions.")
    var runsPerSecond = 130.0

    @Option(help: "Runs started per second by each session (overrides --runs-per-second).")
    var sessionRate: Double?

    @Option(help: "Events delivered per second in total (overrides the run rates): one probe run first counts the events of a run.")
    var eventsPerSecond: Double?

    @Option(help: "Seconds of measurement (after the warm-up).")
    var duration = 30.0

    @Option(help: "Seconds of load before measurement starts.")
    var warmup = 5.0

    @Option(help: "Seconds to wait after the window for runs in flight to end.")
    var drainTimeout = 15.0

    @Option(help: "The message every run sends; the default makes the offline model call the calculator tool.")
    var message = "what is (17*3)+4?"

    @Option(help: "A relay's /metrics (repeatable), e.g. http://127.0.0.1:9092/metrics.")
    var relayMetrics: [MetricsEndpoint] = []

    @Option(help: "The gateway's /metrics (default: the gateway's port, /metrics); 'none' skips it.")
    var gatewayMetrics: String?

    @Option(help: "The relay's latency histogram.")
    var relayHistogram = "herald_relay_event_delay_seconds"

    @Option(help: "The gateway's latency histogram.")
    var gatewayHistogram = "herald_gateway_event_latency_seconds"

    @Option(help: "The stage and key prefix of its figures in --results: another name keeps a second load run apart.")
    var resultsName = "load"

    @Option(help: "Connections opened at once while connecting the sessions.")
    var connectConcurrency = 64

    @Option(help: "Target: end-to-end p50 at most this many ms.")
    var targetP50 = 2.0

    @Option(help: "Target: end-to-end p99 at most this many ms.")
    var targetP99 = 10.0

    @Option(name: .customLong("watch"), help: "A process whose CPU use during the window is reported, name=pid (repeatable).")
    var watched: [WatchedProcess] = []

    @OptionGroup var output: ResultOptions

    mutating func validate() throws {
        guard sessions > 0, duration > 0, warmup >= 0, drainTimeout > 0, connectConcurrency > 0 else {
            throw ValidationError("--sessions, --duration, --drain-timeout and --connect-concurrency must be positive")
        }
        guard (sessionRate ?? runsPerSecond) > 0, (eventsPerSecond ?? 1) > 0 else { throw ValidationError("the run rate must be positive") }
    }

    func run() async throws {
        let target = try gateway.target()
        let logger = quietLogger("herald-bench", .error)
        let gatewayEndpoint: MetricsEndpoint? =
            switch gatewayMetrics {
            case "none"?: nil
            case let text?: try MetricsEndpoint(argument: text).orThrow("--gateway-metrics must be http://127.0.0.1:PORT/metrics")
            case nil: target.metrics
            }

        print("load: \(target), \(sessions) sessions, warm-up \(Format.grouped(warmup)) s, window \(Format.grouped(duration)) s, message: \(message)")

        // Connect every session first; the schedule starts once all are up.
        let connectStart = WallClock.now()
        let allSessions = (0..<sessions).map { LoadSession(index: $0) }
        let connected: [BenchSocket?] = await boundedConcurrentMap(sessions, width: connectConcurrency) { index in
            let session = allSessions[index]
            do {
                return try await BenchSocket.connect(target, logger: logger) { data, receivedAt in
                    session.received(data, at: receivedAt)
                }
            } catch {
                session.fail("connect failed: \(error)")
                return nil
            }
        }
        let connectFailures = connected.filter { $0 == nil }.count
        print("      connected \(sessions - connectFailures)/\(sessions) sessions in \(String(format: "%.1f", WallClock.now() - connectStart)) s")
        if connectFailures == sessions {
            throw ValidationError("no session could connect to \(target): \(allSessions.first?.result.failures.first ?? "?")")
        }

        // The rate: given, or worked out from a probe run's events for --events-per-second.
        var rate = sessionRate.map { $0 * Double(sessions) } ?? runsPerSecond
        if let eventsPerSecond {
            guard let index = connected.firstIndex(where: { $0 != nil }), let socket = connected[index] else {
                throw ValidationError("no session connected")
            }
            let session = allSessions[index]
            let content = message
            let probe = Task { await session.probe(socket: socket, message: content) }
            let probeTimeout = Task {
                try await Task.sleep(for: .seconds(30))
                probe.cancel()
            }
            guard let count = await probe.value, count > 0 else {
                throw ValidationError("the probe run did not complete within 30 s")
            }
            probeTimeout.cancel()
            rate = eventsPerSecond / Double(count)
            print(
                "      probe run: \(count) events per run, so \(String(format: "%.1f", rate)) runs/s for \(Format.grouped(eventsPerSecond)) events/s"
            )
        }
        let totalRate = rate
        let interval = Double(sessions) / totalRate
        print("      \(String(format: "%.1f", totalRate)) runs/s in total: one every \(String(format: "%.2f", interval)) s per session")

        // A socket that ends while its session drives it wakes the session's driver.
        for (index, socket) in connected.enumerated() {
            guard let socket else { continue }
            let session = allSessions[index]
            Task {
                _ = await socket.closed()
                session.socketClosed()
            }
        }

        let start = WallClock.now() + 0.5
        let window = LoadWindow(measureStart: start + warmup, measureEnd: start + warmup + duration)
        for session in allSessions { session.setWindow(window) }

        // Scrape the stage histograms when the window opens.
        let relayEndpoints = relayMetrics
        let relayName = relayHistogram
        let gatewayName = gatewayHistogram
        let before = Task { () -> StageSnapshot in
            try? await Task.sleep(for: .nanoseconds(Int64(max(0, window.measureStart - WallClock.now()) * 1e9)))
            return await StageSnapshot.scrape(
                relays: relayEndpoints,
                gateway: gatewayEndpoint,
                relayHistogram: relayName,
                gatewayHistogram: gatewayName
            )
        }
        // CPU of every watched process over the window exactly.
        let processes = watched + [WatchedProcess.current]
        let cpu = Task { () -> [(name: String, cores: Double)] in
            try? await Task.sleep(for: .nanoseconds(Int64(max(0, window.measureStart - WallClock.now()) * 1e9)))
            let first = CPUSnapshot.take(processes)
            try? await Task.sleep(for: .nanoseconds(Int64(max(0, window.measureEnd - WallClock.now()) * 1e9)))
            return CPUSnapshot.take(processes).usage(since: first, order: processes)
        }

        let content = message
        let drivers = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, socket) in connected.enumerated() {
                    guard let socket else { continue }
                    let session = allSessions[index]
                    let phase = Double(index) / totalRate
                    group.addTask {
                        await session.drive(
                            socket: socket,
                            message: content,
                            window: window,
                            start: start,
                            phase: phase.truncatingRemainder(dividingBy: interval),
                            interval: interval
                        )
                    }
                }
            }
        }
        // Progress once per ten seconds, so a long run shows it is alive.
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(10))
                guard !Task.isCancelled else { return }
                let sent = allSessions.reduce(0) { $0 + $1.result.runsSent }
                let ended = allSessions.reduce(0) { $0 + $1.result.runsEnded }
                print("      … \(Format.grouped(WallClock.now() - start)) s: \(sent) runs sent, \(ended) ended")
            }
        }
        let deadline = Task {
            try? await Task.sleep(for: .nanoseconds(Int64(max(0, window.measureEnd + drainTimeout - WallClock.now()) * 1e9)))
            guard !Task.isCancelled else { return }
            drivers.cancel()
        }
        await drivers.value
        deadline.cancel()
        progress.cancel()
        let drainedAt = WallClock.now()
        let stagesBefore = await before.value
        let cpuUsage = await cpu.value
        let stagesAfter = await StageSnapshot.scrape(
            relays: relayEndpoints,
            gateway: gatewayEndpoint,
            relayHistogram: relayName,
            gatewayHistogram: gatewayName
        )

        // Close every socket (a close that fails is not the benchmark's business any more).
        _ = await boundedConcurrentMap(connected.count, width: 128) { index in
            await connected[index]?.close()
        }

        var total = SessionTally()
        var violations: [RunRuleViolation] = []
        var failures: [String] = []
        for session in allSessions {
            let tally = session.result
            total.samples.merge(tally.samples)
            total.eventsInWindow += tally.eventsInWindow
            total.eventsTotal += tally.eventsTotal
            total.runsCompletedInWindow += tally.runsCompletedInWindow
            total.runsSent += tally.runsSent
            total.runsQueued += tally.runsQueued
            total.runsEnded += tally.runsEnded
            total.measuredRunsEnded += tally.measuredRunsEnded
            total.measuredEvents += tally.measuredEvents
            total.lateStarts += tally.lateStarts
            total.errorFrames += tally.errorFrames
            total.unknownFrames += tally.unknownFrames
            total.untimedEvents += tally.untimedEvents
            total.unfinishedRuns += tally.unfinishedRuns
            total.measuredRuns.formUnion(tally.measuredRuns)
            violations += tally.validator.finish(requireComplete: false)
            failures += tally.failures
        }
        let errors = total.errorFrames.count + total.unknownFrames + total.unfinishedRuns + failures.count
        let deliveredPerSecond = Double(total.eventsInWindow) / duration
        let runsPerSecondDone = Double(total.runsCompletedInWindow) / duration
        let eventsPerRun = total.runsEnded > 0 ? Double(total.eventsTotal) / Double(total.runsEnded) : 0
        let latency = total.samples.summary()

        print("")
        print(
            "load results (\(Format.grouped(duration)) s window, drained \(String(format: "%.1f", max(0, drainedAt - window.measureEnd))) s after it):"
        )
        print(
            "  runs sent \(total.runsSent), queued \(total.runsQueued), ended \(total.runsEnded), measured runs ended \(total.measuredRunsEnded)/\(total.measuredRuns.count); late starts (previous run of the session still going at the slot) \(total.lateStarts)"
        )
        print(
            "  events/s delivered \(Format.grouped(deliveredPerSecond)), runs/s completed \(String(format: "%.1f", runsPerSecondDone)), events per run \(String(format: "%.1f", eventsPerRun))"
        )
        if let latency {
            print("  end-to-end latency (worker emit → client receipt): \(latency.line)")
        } else {
            print("  end-to-end latency: no samples")
        }
        print(
            "  run-rules violations: \(violations.count); errors: \(errors) (error frames \(total.errorFrames.count), unknown frames \(total.unknownFrames), unfinished runs \(total.unfinishedRuns), session failures \(failures.count))"
        )
        for violation in violations.prefix(5) { print("    violation: \(violation)") }
        for error in Array(Set(total.errorFrames)).prefix(5) { print("    error frame: \(error)") }
        for failure in Array(Set(failures)).prefix(5) { print("    failure: \(failure)") }

        CPUReport.print(cpuUsage)
        let split = StageSplit(before: stagesBefore, after: stagesAfter, client: latency)
        split.print()

        var sink = ResultSink(path: output.results)
        let stage = resultsName
        if let latency {
            sink.add(stage, "\(stage).e2e.p50", "end-to-end latency p50 (emit → client)", latency.p50, .milliseconds, target: .atMost(targetP50))
            sink.add(stage, "\(stage).e2e.p90", "end-to-end latency p90", latency.p90, .milliseconds)
            sink.add(stage, "\(stage).e2e.p99", "end-to-end latency p99", latency.p99, .milliseconds, target: .atMost(targetP99))
            sink.add(stage, "\(stage).e2e.max", "end-to-end latency max", latency.max, .milliseconds)
        }
        // The offered load: the run rate times the events a run has. Latency targets hold only at the intended rate.
        let offered = totalRate * max(eventsPerRun, 1)
        sink.add(
            stage,
            "\(stage).events_per_second",
            "events/s delivered (offered \(Format.grouped(offered)), \(sessions) sessions)",
            deliveredPerSecond,
            .perSecond,
            target: .atLeast(0.95 * offered),
            note: deliveredPerSecond < 0.95 * offered
                ? "the deployment did not carry the offered load (\(total.lateStarts) runs started late, behind their session's previous run): its latencies are not at the intended rate"
                : nil
        )
        sink.add(stage, "\(stage).runs_per_second", "runs/s completed", runsPerSecondDone, .perSecond)
        sink.add(stage, "\(stage).events_per_run", "events per run", eventsPerRun, .count)
        sink.add(stage, "\(stage).violations", "run-rules violations", Double(violations.count), .count, target: .atMost(0))
        sink.add(stage, "\(stage).errors", "errors (error frames, closes, unfinished runs)", Double(errors), .count, target: .atMost(0))
        split.record(into: &sink, stage: "load split")
        CPUReport.record(cpuUsage, into: &sink, stage: "load cpu", prefix: "load")
        try sink.write()
    }
}

extension Optional {
    func orThrow(_ message: String) throws -> Wrapped {
        guard let self else { throw ValidationError(message) }
        return self
    }
}
