import ArgumentParser
import Foundation
import Logging

/// `herald-bench idle`: the gateway's resident memory per idle connection.
struct IdleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Opens idle WebSocket connections and measures the gateway's resident memory per connection.",
        discussion: """
            Reads the gateway's VmRSS (/proc/PID/status), then opens connections (each a new guest that only \
            receives connection_established) up to each count of --connections in turn, and reads VmRSS again \
            once it has settled. Per connection = (RSS now - RSS before the first) / connections open. Run it \
            against a freshly started gateway: memory freed by earlier load and kept by the allocator would hide \
            part of the cost. Needs `ulimit -n` above the largest count, for this process and the gateway.
            """
    )

    @OptionGroup var gateway: GatewayOptions

    @Option(help: "The gateway's process id, for /proc/PID/status.")
    var gatewayPid: Int32

    @Option(help: "Connection counts to reach in turn, comma-separated.")
    var connections = "1000,10000"

    @Option(help: "Seconds to let memory settle before each reading.")
    var settle = 3.0

    @Option(help: "Connections opened at once.")
    var connectConcurrency = 100

    @Option(help: "Target: KiB of gateway resident memory per idle connection at the largest count.")
    var targetKiB = 20.0

    @OptionGroup var output: ResultOptions

    func run() async throws {
        raiseFileLimit()
        let counts = connections.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }), counts == counts.sorted() else {
            throw ValidationError("--connections must be rising positive counts, e.g. 1000,10000")
        }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if Int(limit.rlim_cur) < counts.last! + 100 {
            print("idle: warning: this process may open only \(limit.rlim_cur) files; raise `ulimit -n`")
        }
        let target = try gateway.target()
        let logger = quietLogger("herald-bench.idle", .critical)

        try await Task.sleep(for: .seconds(settle / 3))
        let before = try Self.residentKiB(gatewayPid)
        print("idle: \(target), gateway pid \(gatewayPid): \(String(format: "%.1f", before / 1024)) MiB resident before any connection")

        var sockets: [BenchSocket] = []
        var failures = 0
        var firstFailure: String?
        var sink = ResultSink(path: output.results)
        for count in counts {
            let start = WallClock.now()
            let needed = count - sockets.count
            let opened: [Result<BenchSocket, any Error>] = await boundedConcurrentMap(needed, width: connectConcurrency) { _ in
                do {
                    return .success(try await BenchSocket.connect(target, logger: logger) { _, _ in })
                } catch {
                    return .failure(error)
                }
            }
            for result in opened {
                switch result {
                case .success(let socket): sockets.append(socket)
                case .failure(let error):
                    failures += 1
                    if firstFailure == nil { firstFailure = "\(error)" }
                }
            }
            let connectSeconds = WallClock.now() - start
            try await Task.sleep(for: .seconds(settle))
            // Three readings half a second apart; the median is kept.
            var readings: [Double] = []
            for _ in 0..<3 {
                readings.append(try Self.residentKiB(gatewayPid))
                try await Task.sleep(for: .milliseconds(500))
            }
            let rss = readings.sorted()[1]
            let open = sockets.count
            let perConnection = open > 0 ? (rss - before) / Double(open) : .nan
            let gauge = (try? await target.metrics.scrape())?.value("herald_gateway_connections")
            print("      \(Format.grouped(Double(open))) connections (\(failures) failed, opened in \(String(format: "%.1f", connectSeconds)) s; gateway gauge \(gauge.map { Format.grouped($0) } ?? "-")): " +
                  "\(String(format: "%.1f", rss / 1024)) MiB resident, \(String(format: "%.1f", perConnection)) KiB per connection")
            let isLargest = count == counts.last
            sink.add("idle \(count)", "idle.\(count).kib_per_connection", "gateway memory per idle connection (\(Format.grouped(Double(count))))", perConnection, .kibibytes,
                     target: isLargest ? .atMost(targetKiB) : nil)
            sink.add("idle \(count)", "idle.\(count).rss", "gateway resident memory at \(Format.grouped(Double(count))) connections", rss / 1024, .mebibytes)
        }
        sink.add("idle", "idle.errors", "idle connections that failed", Double(failures), .count, target: .atMost(0),
                 note: firstFailure.map { "first failure: \($0)" })
        try sink.write()

        let closeStart = WallClock.now()
        let opened = sockets
        _ = await boundedConcurrentMap(opened.count, width: 256) { index in
            await opened[index].close()
        }
        print("      closed \(opened.count) connections in \(String(format: "%.1f", WallClock.now() - closeStart)) s")
    }

    /// VmRSS of a process, in KiB.
    static func residentKiB(_ pid: Int32) throws -> Double {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Double($0) })
        else {
            throw ValidationError("no VmRSS in /proc/\(pid)/status")
        }
        return value
    }
}
