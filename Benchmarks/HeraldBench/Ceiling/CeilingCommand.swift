import ArgumentParser
import Foundation
import Logging
import Redis

/// `herald-bench ceiling`: what Redis itself does on this machine, the ceiling every stage is compared to.
struct CeilingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceiling",
        abstract: "Runs redis-benchmark's pipelined PUBLISH and XADD against the deployment's Redis.",
        discussion: """
            `redis-benchmark -c CLIENTS -P PIPELINE -n REQUESTS --csv PUBLISH ch msg` and \
            `… XADD <key> MAXLEN ~ 1000 * f v`, each --rounds times; the median is kept.
            """
    )

    @Option(help: "The Redis to measure.")
    var redisURL = "redis://127.0.0.1:6379"

    @Option(help: "Requests per redis-benchmark run.")
    var requests = 1_000_000

    @Option(help: "Commands per pipeline (redis-benchmark -P).")
    var pipeline = 16

    @Option(help: "Parallel clients (redis-benchmark -c).")
    var clients = 50

    @Option(help: "Runs per figure; the median is kept.")
    var rounds = 3

    @Option(help: "The redis-benchmark executable.")
    var redisBenchmark = "redis-benchmark"

    @OptionGroup var output: ResultOptions

    func run() async throws {
        let url = try RedisURL(redisURL)
        guard let executable = Self.find(redisBenchmark) else {
            throw ValidationError("\(redisBenchmark) not found (apt-get install redis-tools)")
        }
        let stream = "bench-ceiling-\(UInt32.random(in: 0...UInt32.max))"
        let cases: [(key: String, label: String, command: [String])] = [
            ("publish", "redis-benchmark PUBLISH (-P \(pipeline) -c \(clients))", ["PUBLISH", "bench-ceiling", "msg"]),
            ("xadd", "redis-benchmark XADD (-P \(pipeline) -c \(clients))", ["XADD", stream, "MAXLEN", "~", "1000", "*", "f", "v"]),
        ]
        print("ceiling: \(url), \(Format.grouped(Double(requests))) requests, -P \(pipeline) -c \(clients), \(rounds) round(s)")
        var sink = ResultSink(path: output.results)
        for testCase in cases {
            var figures: [Double] = []
            for _ in 0..<rounds {
                figures.append(
                    try Self.requestsPerSecond(
                        executable,
                        url: url,
                        options: ["-n", "\(requests)", "-c", "\(clients)", "-P", "\(pipeline)"],
                        command: testCase.command
                    )
                )
            }
            let median = figures.sorted()[figures.count / 2]
            print("  \(testCase.label): \(Format.grouped(median)) requests/s (rounds: \(figures.map(Format.grouped).joined(separator: ", ")))")
            sink.add("ceiling", "ceiling.\(testCase.key)", testCase.label, median, .perSecond)
        }
        let logger = quietLogger("herald-bench.ceiling", .critical)
        let client = RedisClient(configuration: RedisConfiguration(url: url), logger: logger)
        _ = try? await client.send("DEL", stream)
        await client.close()
        try sink.write()
    }

    private static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs redis-benchmark with `--csv` and reads the requests/s of its last line.
    private static func requestsPerSecond(_ executable: String, url: RedisURL, options: [String], command: [String]) throws -> Double {
        var arguments = ["-h", url.host, "-p", "\(url.port)", "--csv"] + options
        if let username = url.username { arguments += ["--user", username] }
        if let password = url.password { arguments += ["-a", password] }
        if url.database != 0 { arguments += ["--dbnum", "\(url.database)"] }
        arguments += command
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // The last CSV line: "test","rps","avg_latency_ms",…
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
        guard process.terminationStatus == 0, let last = lines.last else {
            throw ValidationError("redis-benchmark \(arguments.joined(separator: " ")) failed")
        }
        let fields = last.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        guard fields.count >= 2, let rps = Double(fields[1]) else {
            throw ValidationError("cannot read redis-benchmark's output: \(last)")
        }
        return rps
    }
}
