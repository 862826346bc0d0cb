import ArgumentParser
import Foundation
import HeraldCore
import Logging
import Redis
import Synchronization

/// `herald-bench path`: the delay from the producer's hand-off to the subscriber's screen, Herald beside
/// nginx + nchan, with one load generator and one measurement for both.
struct PathCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "Event latency from the producer's hand-off to the subscriber, Herald beside nginx + nchan.",
        discussion: """
            Each system gets --sessions subscribers, each on a channel (a thread) of its own, and events at \
            --events-per-second in total, round-robin over the sessions, for --warmup then --duration seconds. Each \
            event carries its emit time in microseconds, taken just before it is written; latency is that to its \
            receipt by the subscriber. Herald's events enter at the worker's boundary (XADD of a partition entry, \
            --redis-url) and leave through its gateway (--herald-url); nchan's are POSTed to its publisher location \
            and leave through its WebSocket subscriber location (--nchan-url; Benchmarks/nchan/nginx.conf). Rounds \
            alternate the systems (A B, then B A) and the table pools every round's samples.
            """
    )

    @Option(help: "Herald's gateway WebSocket, e.g. ws://127.0.0.1:8080/ws.")
    var heraldURL: String?

    @Option(help: "The Redis Herald's services share (the worker's boundary).")
    var redisURL = "redis://127.0.0.1:6379"

    @Option(help: "Herald's key prefix (HERALD_KEY_PREFIX).")
    var keyPrefix = "herald"

    @Option(help: "Herald's event partitions (HERALD_EVENT_PARTITIONS).")
    var eventPartitions = 8

    @Option(help: "nginx + nchan, e.g. http://127.0.0.1:8090 (its /pub and /sub locations).")
    var nchanURL: String?

    @Option(help: "HTTP connections publishing to nchan, each pipelining its requests (nginx answers one connection's in turn).")
    var nchanPublishers = 16

    @Option(help: "Subscribers per system, each on its own channel or thread.")
    var sessions = 50

    @Option(help: "Events per second in total.")
    var eventsPerSecond = 1_000.0

    @Option(help: "Seconds of measurement per round (after the warm-up).")
    var duration = 10.0

    @Option(help: "Seconds of load before measurement starts, per round.")
    var warmup = 2.0

    @Option(help: "Rounds per system, alternating the systems' order.")
    var rounds = 2

    @Flag(help: "Also subscribe to Herald's thread channels in Redis, to split the relay's part from the gateway's.")
    var tap = false

    @Option(help: "Target: Herald's p99 at most this many ms (none when not given).")
    var targetP99: Double?

    @Option(name: .customLong("watch"), help: "A process whose CPU use during the window is reported, name=pid (repeatable).")
    var watched: [WatchedProcess] = []

    @OptionGroup var output: ResultOptions

    mutating func validate() throws {
        guard heraldURL != nil || nchanURL != nil else { throw ValidationError("give --herald-url, --nchan-url or both") }
        guard sessions > 0, eventsPerSecond > 0, duration > 0, warmup >= 0, rounds > 0, nchanPublishers > 0 else {
            throw ValidationError("--sessions, --events-per-second, --duration, --rounds and --nchan-publishers must be positive")
        }
    }

    func run() async throws {
        let logger = quietLogger("herald-bench", .error)
        var systems: [any PathSystem] = []
        var redis: RedisClient?
        var tapTask: Task<Void, any Error>?
        if let heraldURL {
            let configuration = try RedisConfiguration(url: redisURL)
            let client = RedisClient(configuration: configuration, logger: logger)
            redis = client
            var subscriber: RedisSubscriber?
            if tap {
                let tapSubscriber = RedisSubscriber(configuration: configuration, bufferSize: 1 << 16, logger: logger)
                tapTask = Task { try await tapSubscriber.run() }
                subscriber = tapSubscriber
            }
            systems.append(
                HeraldPathSystem(
                    target: try GatewayTarget(url: heraldURL),
                    redis: client,
                    keys: RedisKeys(prefix: keyPrefix),
                    partitions: eventPartitions,
                    tap: subscriber,
                    logger: logger
                )
            )
        }
        if let nchanURL {
            guard let components = URLComponents(string: nchanURL), components.scheme == "http", let host = components.host else {
                throw ValidationError("--nchan-url must look like http://127.0.0.1:8090, got '\(nchanURL)'")
            }
            systems.append(NchanPathSystem(host: host, port: components.port ?? 80, publishers: nchanPublishers, logger: logger))
        }
        // The tap and the client close however the comparison ends, and before the process does.
        let stopClients: @Sendable () async -> Void = { [tapTask, redis] in
            tapTask?.cancel()
            await redis?.close()
        }
        do {
            let rate = Format.grouped(eventsPerSecond)
            print(
                "path: \(rate) events/s over \(sessions) sessions, \(rounds) round(s) per system of \(Format.grouped(warmup)) s warm-up + \(Format.grouped(duration)) s"
            )
            var pooled = [String: PathRoundResult]()
            for round in 1...rounds {
                let order = round % 2 == 1 ? systems : systems.reversed()
                for system in order {
                    let result = try await measure(system)
                    print("  round \(round) \(Format.padded(system.name, 14)) \(result.line)")
                    CPUReport.print(result.cpu)
                    pooled[system.name, default: PathRoundResult()].merge(result)
                }
            }

            print()
            print("| system | events | p50 | p90 | p99 | max | hand-off p50 | lost | broken seq |")
            print("|---|---|---|---|---|---|---|---|---|")
            for system in systems {
                guard let result = pooled[system.name], let latency = result.samples.summary() else { continue }
                let ack = result.acknowledged.summary()
                print(
                    "| \(system.name) | \(Format.grouped(Double(latency.count))) | \(Format.milliseconds(latency.p50)) | \(Format.milliseconds(latency.p90)) | \(Format.milliseconds(latency.p99)) | \(Format.milliseconds(latency.max)) | \(ack.map { Format.milliseconds($0.p50) } ?? "-") | \(result.lost) | \(result.failures.count) |"
                )
            }
            for system in systems {
                guard let result = pooled[system.name] else { continue }
                if let ack = result.acknowledged.summary() {
                    print("\(system.name) stage: emit → hand-off acknowledged: \(ack.line)")
                }
                for (stage, samples) in result.stages.sorted(by: { $0.key < $1.key }) {
                    if let summary = samples.summary() { print("\(system.name) stage: \(stage): \(summary.line)") }
                }
                if let summary = result.samples.summary() { print("\(system.name) stage: emit → subscriber: \(summary.line)") }
            }
            let herald = pooled["Herald"]?.samples.summary()
            let nchan = pooled["nginx + nchan"]?.samples.summary()
            if let herald, let nchan {
                print(
                    "Herald / nchan: p50 \(String(format: "%.2f", herald.p50 / nchan.p50))×, p99 \(String(format: "%.2f", herald.p99 / nchan.p99))× (below 1: Herald is faster)"
                )
            }
            for (name, result) in pooled where !result.failures.isEmpty {
                print("\(name): \(result.failures.count) failure(s), first: \(result.failures.prefix(3).joined(separator: "; "))")
            }

            var sink = ResultSink(path: output.results)
            let stage = "path \(rate)/s"
            for (key, summary) in [("herald", herald), ("nchan", nchan)] {
                guard let summary else { continue }
                let name = key == "herald" ? "Herald" : "nginx + nchan"
                let id = "path.\(Int(eventsPerSecond)).\(key)"
                sink.add(stage, "\(id).p50", "\(name) p50, \(rate) events/s, \(sessions) sessions", summary.p50, .milliseconds)
                sink.add(
                    stage,
                    "\(id).p99",
                    "\(name) p99, \(rate) events/s, \(sessions) sessions",
                    summary.p99,
                    .milliseconds,
                    target: key == "herald" ? targetP99.map { .atMost($0) } : nil
                )
            }
            if let herald, let nchan {
                let id = "path.\(Int(eventsPerSecond))"
                sink.add(stage, "\(id).ratio.p50", "Herald / nchan p50", herald.p50 / nchan.p50, .ratio, target: .atMost(1))
                sink.add(stage, "\(id).ratio.p99", "Herald / nchan p99", herald.p99 / nchan.p99, .ratio, target: .atMost(1))
            }
            if let result = pooled["Herald"] {
                sink.add(stage, "path.\(Int(eventsPerSecond)).herald.lost", "Herald events lost", Double(result.lost), .count, target: .atMost(0))
                sink.add(
                    stage,
                    "path.\(Int(eventsPerSecond)).herald.broken_seq",
                    "Herald seq gaps or duplicates",
                    Double(result.failures.count),
                    .count,
                    target: .atMost(0)
                )
            }
            try sink.write()
            if pooled.values.contains(where: { $0.lost > 0 || !$0.failures.isEmpty }) {
                throw ExitCode(1)
            }
        } catch {
            await stopClients()
            throw error
        }
        await stopClients()
    }

    /// One round of one system: open, prime, load at the set rate, drain, close.
    private func measure(_ system: any PathSystem) async throws -> PathRoundResult {
        try await system.open(sessions: sessions)
        let receivers = system.receivers
        // Every subscriber must receive before the clock starts: one event each, waited for.
        _ = try await system.emit(to: Array(0..<sessions))
        guard await waitUntil(seconds: 30, { receivers.allSatisfy { $0.stamped >= 1 } }) else {
            await system.close()
            throw PathError("\(system.name): not every subscriber received its first event within 30 s")
        }

        let begin = WallClock.now()
        let window = PathWindow(start: begin + warmup, end: begin + warmup + duration)
        let stages = system.stageReceivers
        for receiver in receivers + stages.map(\.receiver) {
            _ = receiver.take()
            receiver.setWindow(window)
        }
        let total = Int(eventsPerSecond * (warmup + duration))
        let acknowledged = SharedSamples()
        let processes = watched + [WatchedProcess.current]
        var cpuStart: CPUSnapshot?
        let sessions = self.sessions
        try await withThrowingDiscardingTaskGroup { group in
            var sent = 0
            while sent < total {
                let now = WallClock.now()
                if cpuStart == nil, now >= window.start { cpuStart = CPUSnapshot.take(processes) }
                let due = min(total, Int((now - begin) * eventsPerSecond) + 1)
                if due > sent {
                    let batch = (sent..<due).map { $0 % sessions }
                    let inWindow = window.contains(now)
                    sent = due
                    group.addTask {
                        let seconds = try await system.emit(to: batch)
                        if inWindow { acknowledged.add(seconds * 1_000) }
                    }
                }
                let next = begin + Double(sent) / eventsPerSecond
                let wait = next - WallClock.now()
                if wait > 0 { try await Task.sleep(for: .nanoseconds(Int64(wait * 1e9))) }
            }
        }
        let cpu = cpuStart.map { CPUSnapshot.take(processes).usage(since: $0, order: processes) } ?? []
        // Whatever is still on its way gets 10 s; what has not arrived then is lost.
        _ = await waitUntil(seconds: 10) { receivers.reduce(0) { $0 + $1.stamped } >= total }
        var result = PathRoundResult()
        result.acknowledged = acknowledged.samples
        result.cpu = cpu
        var stamped = 0
        for receiver in receivers {
            let taken = receiver.take()
            result.samples.merge(taken.samples)
            stamped += taken.stamped
            result.failures += taken.failures
        }
        result.lost = max(0, total - stamped)
        for (stage, receiver) in stages {
            result.stages[stage, default: LatencySamples()].merge(receiver.take().samples)
        }
        await system.close()
        return result
    }

    /// Polls `condition` every 20 ms until it holds (true) or `seconds` pass (false).
    private func waitUntil(seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = WallClock.now() + seconds
        while !condition() {
            if WallClock.now() > deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}

/// What one or more rounds of one system measured.
struct PathRoundResult: Sendable {
    var samples = LatencySamples()
    /// The producer's hand-off: emit to the system's acknowledgement (Herald: XADD replies; nchan: POST responses).
    var acknowledged = LatencySamples()
    var lost = 0
    var failures: [String] = []
    var cpu: [(name: String, cores: Double)] = []
    /// Emit to an intermediate point, by stage (`--tap`).
    var stages: [String: LatencySamples] = [:]

    var line: String {
        let latency = samples.summary().map(\.line) ?? "no samples"
        let ack = acknowledged.summary().map { "hand-off p50 \(Format.milliseconds($0.p50))" } ?? ""
        return "\(latency); \(ack); lost \(lost); broken seq \(failures.count)"
    }

    mutating func merge(_ other: PathRoundResult) {
        samples.merge(other.samples)
        acknowledged.merge(other.acknowledged)
        lost += other.lost
        failures += other.failures
        cpu = other.cpu
        stages.merge(other.stages) { first, second in
            var merged = first
            merged.merge(second)
            return merged
        }
    }
}

/// Latency samples that concurrent tasks add to.
final class SharedSamples: Sendable {
    private let state = Mutex(LatencySamples())

    func add(_ milliseconds: Double) {
        state.withLock { $0.add(milliseconds) }
    }

    var samples: LatencySamples { state.withLock { $0 } }
}
