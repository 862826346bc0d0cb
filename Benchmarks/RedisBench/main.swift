import ArgumentParser
import Foundation
import Logging
import Redis

/// Measures the Herald Redis client and prints its figures beside redis-benchmark's on the same server.
struct RedisBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-redis-bench",
        abstract: "Measures the Herald Redis client against redis-benchmark on the same server.",
        discussion: """
            Throughput: PUBLISH and XADD (XADD bench-stream MAXLEN ~ 1000 * f v), once as `pipeline` batches of \
            --pipeline commands and once as single concurrent sends, with --concurrency of either in flight, \
            beside `redis-benchmark -c CONCURRENCY [-P PIPELINE]`. Latency: median and p99 of single PING round \
            trips on one connection, beside `redis-benchmark -c 1 -t ping_mbulk`, once from a task on the global \
            executor and once from a task that prefers the connection's event loop (RedisConnection.taskExecutor). \
            Each figure is the median of \
            --rounds rounds that alternate the client and redis-benchmark.
            """
    )

    @Option(help: "The server to measure, redis://[user:password@]host:port[/db].")
    var url = "redis://127.0.0.1:6379"

    @Option(help: "Commands per throughput measurement.")
    var requests = 200_000

    @Option(help: "Commands per pipeline batch (redis-benchmark -P).")
    var pipeline = 16

    @Option(help: "Batches or single commands in flight at once (redis-benchmark -c).")
    var concurrency = 50

    @Option(help: "Connections in the client's pool.")
    var poolSize = 2

    @Option(help: "Round trips for the latency measurement.")
    var pings = 20_000

    @Option(help: "Rounds per figure, alternating the client and redis-benchmark; the median is kept.")
    var rounds = 3

    @Option(help: "The redis-benchmark executable; 'none' skips the comparison.")
    var redisBenchmark = "redis-benchmark"

    mutating func validate() throws {
        guard requests > 0, pipeline > 0, concurrency > 0, poolSize > 0, pings > 0, rounds > 0 else {
            throw ValidationError("--requests, --pipeline, --concurrency, --pool-size, --pings and --rounds must be positive")
        }
    }

    func run() async throws {
        var logger = Logger(label: "herald-redis-bench")
        logger.logLevel = .warning
        let redisURL = try RedisURL(url)
        let client = RedisClient(configuration: RedisConfiguration(url: redisURL, poolSize: poolSize), logger: logger)
        do {
            try await measure(client, redisURL, logger)
            await client.close()
        } catch {
            await client.close()
            throw error
        }
    }

    private func measure(_ client: RedisClient, _ redisURL: RedisURL, _ logger: Logger) async throws {
        let publish: [RedisArgument] = ["PUBLISH", "ch", "msg"]
        let xadd: [RedisArgument] = ["XADD", "bench-stream", "MAXLEN", "~", "1000", "*", "f", "v"]
        _ = try await client.send(["DEL", "bench-stream"])
        _ = try await measurePipelined(client, publish, requests: min(requests, 20_000))
        let connection = try await RedisConnection.connect(configuration: RedisConfiguration(url: redisURL), logger: logger)
        let reference = RedisBenchmarkRunner(executable: redisBenchmark, url: redisURL)
        if !reference.isAvailable {
            print("redis-benchmark not found; printing the client's figures only")
        }

        print(
            "herald-redis-bench: \(redisURL), \(requests) requests, pipeline \(pipeline), concurrency \(concurrency), pool \(poolSize), \(rounds) round(s)"
        )
        // Each figure alternates the client and redis-benchmark round by round and keeps the median, so a
        // neighbour's load on the machine weighs on both sides alike.
        let throughputCases: [(name: String, command: [RedisArgument], pipelined: Bool)] = [
            ("PUBLISH pipelined (-P \(pipeline) -c \(concurrency))", publish, true),
            ("PUBLISH single sends (-c \(concurrency))", publish, false),
            ("XADD pipelined (-P \(pipeline) -c \(concurrency))", xadd, true),
            ("XADD single sends (-c \(concurrency))", xadd, false),
        ]
        var results: [(name: String, ours: Double, theirs: Double?)] = []
        for testCase in throughputCases {
            var ours: [Double] = []
            var theirs: [Double] = []
            for _ in 0..<rounds {
                ours.append(
                    testCase.pipelined
                        ? try await measurePipelined(client, testCase.command, requests: requests)
                        : try await measureConcurrent(client, testCase.command, requests: requests)
                )
                if reference.isAvailable {
                    let options = ["-n", "\(requests)", "-c", "\(concurrency)"] + (testCase.pipelined ? ["-P", "\(pipeline)"] : [])
                    theirs.append(try reference.run(options, command: testCase.command).requestsPerSecond)
                }
            }
            results.append((testCase.name, median(ours), theirs.isEmpty ? nil : median(theirs)))
        }

        var ourLatency: [(median: Double, p99: Double)] = []
        var loopLatency: [(median: Double, p99: Double)] = []
        var theirLatency: [RedisBenchmarkRunner.Figures] = []
        for _ in 0..<rounds {
            ourLatency.append(try await measureLatency(connection))
            loopLatency.append(try await withTaskExecutorPreference(connection.taskExecutor) { try await measureLatency(connection) })
            if reference.isAvailable {
                theirLatency.append(try reference.run(["-n", "\(pings)", "-c", "1", "-t", "ping_mbulk"], command: []))
            }
        }
        await connection.close()
        let latency = (median: median(ourLatency.map(\.median)), p99: median(ourLatency.map(\.p99)))
        let onLoop = (median: median(loopLatency.map(\.median)), p99: median(loopLatency.map(\.p99)))
        let reference50 = theirLatency.isEmpty ? nil : median(theirLatency.map(\.p50))
        let reference99 = theirLatency.isEmpty ? nil : median(theirLatency.map(\.p99))

        print("")
        print(row("", "herald", "redis-benchmark", "ratio"))
        for result in results {
            print(
                row(
                    result.name,
                    "\(grouped(result.ours)) ops/s",
                    result.theirs.map { "\(grouped($0)) ops/s" } ?? "-",
                    result.theirs.map { percent(result.ours / $0) } ?? "-"
                )
            )
        }
        print(
            row(
                "PING round trip median",
                milliseconds(latency.median),
                reference50.map(milliseconds) ?? "-",
                reference50.map { times(latency.median / $0) } ?? "-"
            )
        )
        print(
            row(
                "PING round trip p99",
                milliseconds(latency.p99),
                reference99.map(milliseconds) ?? "-",
                reference99.map { times(latency.p99 / $0) } ?? "-"
            )
        )
        print(
            row(
                "PING median, task on the event loop",
                milliseconds(onLoop.median),
                reference50.map(milliseconds) ?? "-",
                reference50.map { times(onLoop.median / $0) } ?? "-"
            )
        )
        print(
            row(
                "PING p99, task on the event loop",
                milliseconds(onLoop.p99),
                reference99.map(milliseconds) ?? "-",
                reference99.map { times(onLoop.p99 / $0) } ?? "-"
            )
        )

        if let publishReference = results[0].theirs, let xaddReference = results[2].theirs, let reference50 {
            let throughput = min(results[0].ours / publishReference, results[2].ours / xaddReference)
            let roundTrip = latency.median / reference50
            let loopRoundTrip = onLoop.median / reference50
            print("")
            print("target pipelined throughput >= 50% of redis-benchmark: \(percent(throughput)) \(throughput >= 0.5 ? "met" : "MISSED")")
            print(
                "target median round trip <= 2x redis-benchmark: \(times(roundTrip)) \(roundTrip <= 2 ? "met" : "MISSED")"
                    + " (task on the event loop: \(times(loopRoundTrip)) \(loopRoundTrip <= 2 ? "met" : "MISSED"))"
            )
        }
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count.isMultiple(of: 2) ? (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2 : sorted[sorted.count / 2]
    }

    /// `requests` commands as `pipeline` batches, `concurrency` batches in flight.
    private func measurePipelined(_ client: RedisClient, _ command: [RedisArgument], requests: Int) async throws -> Double {
        let batch = Array(repeating: command, count: pipeline)
        let batches = max(1, requests / pipeline)
        return try await throughput(operations: batches * pipeline, workers: concurrency, jobs: batches) {
            for result in try await client.pipeline(batch) {
                _ = try result.get()
            }
        }
    }

    /// `requests` single sends, `concurrency` in flight.
    private func measureConcurrent(_ client: RedisClient, _ command: [RedisArgument], requests: Int) async throws -> Double {
        try await throughput(operations: requests, workers: concurrency, jobs: requests) {
            _ = try await client.send(command)
        }
    }

    private func throughput(operations: Int, workers: Int, jobs: Int, _ job: @escaping @Sendable () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                let share = jobs / workers + (worker < jobs % workers ? 1 : 0)
                group.addTask {
                    for _ in 0..<share {
                        try await job()
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(operations) / (ContinuousClock.now - start).seconds
    }

    private func measureLatency(_ connection: RedisConnection) async throws -> (median: Double, p99: Double) {
        for _ in 0..<min(pings, 1000) {
            try await connection.ping()
        }
        var samples: [Double] = []
        samples.reserveCapacity(pings)
        for _ in 0..<pings {
            let start = ContinuousClock.now
            _ = try await connection.send(["PING"])
            samples.append((ContinuousClock.now - start).seconds * 1000)
        }
        samples.sort()
        return (samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)])
    }

    private func row(_ name: String, _ ours: String, _ theirs: String, _ ratio: String) -> String {
        name.padding(toLength: 38, withPad: " ", startingAt: 0)
            + ours.leftPadded(18) + theirs.leftPadded(20) + ratio.leftPadded(9)
    }

    private func grouped(_ value: Double) -> String {
        Int(value.rounded()).formatted(.number.grouping(.automatic))
    }

    private func percent(_ ratio: Double) -> String {
        "\(Int((ratio * 100).rounded()))%"
    }

    private func times(_ ratio: Double) -> String {
        String(format: "%.2fx", ratio)
    }

    private func milliseconds(_ value: Double) -> String {
        String(format: "%.3f ms", value)
    }
}

/// Runs `redis-benchmark --csv` against the same server and reads its figures.
struct RedisBenchmarkRunner {
    struct Figures {
        var requestsPerSecond: Double
        var p50: Double
        var p99: Double
    }

    let executable: String
    let url: RedisURL

    var isAvailable: Bool {
        executable != "none" && path != nil
    }

    private var path: String? {
        if executable.contains("/") { return FileManager.default.isExecutableFile(atPath: executable) ? executable : nil }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/\(executable)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func run(_ options: [String], command: [RedisArgument]) throws -> Figures {
        var arguments = ["-h", url.host, "-p", "\(url.port)", "--csv"] + options
        if let username = url.username { arguments += ["--user", username] }
        if let password = url.password { arguments += ["-a", password] }
        if url.database != 0 { arguments += ["--dbnum", "\(url.database)"] }
        arguments += command.map(\.description)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()

        // The last CSV line: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",...
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
        guard process.terminationStatus == 0, let last = lines.last else {
            throw ValidationError("redis-benchmark \(arguments.joined(separator: " ")) failed")
        }
        let fields = last.split(separator: ",").map { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) }
        guard fields.count >= 7, let rps = fields[1], let p50 = fields[4], let p99 = fields[6] else {
            throw ValidationError("cannot read redis-benchmark's output: \(last)")
        }
        return Figures(requestsPerSecond: rps, p50: p50, p99: p99)
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

// Inside an async function the async `main()` is chosen; at top level the synchronous one would be.
func runBenchmark() async {
    await RedisBench.main()
}

await runBenchmark()
