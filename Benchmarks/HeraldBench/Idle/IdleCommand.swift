import ArgumentParser
import Foundation
import HeraldTesting
import Logging

/// `herald-bench idle`: the gateway's resident memory per idle connection (WebSocket) or stream (SSE).
struct IdleCommand: AsyncParsableCommand {
    /// What the idle clients hold open.
    enum Transport: String, ExpressibleByArgument, CaseIterable {
        /// WebSockets that only received `connection_established`.
        case ws
        /// WebSockets that each started a run no worker has taken: each watches its own thread, as an idle SSE stream does.
        case wsRun = "ws-run"
        /// AG-UI streams (`POST /agui`) of runs that have not produced an event: each watches its own thread.
        case sse
    }

    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Opens idle WebSocket connections and measures the gateway's resident memory per connection.",
        discussion: """
            Reads the gateway's VmRSS (/proc/PID/status), then opens connections (each a new guest that only \
            receives connection_established) up to each count of --connections in turn, and reads VmRSS again \
            once it has settled. Per connection = (RSS now - RSS before the first) / connections open. Run it \
            against a freshly started gateway: memory freed by earlier load and kept by the allocator would hide \
            part of the cost. Needs `ulimit -n` above the largest count, for this process and the gateway.
            With --transport sse each client is an AG-UI stream (`POST /agui`, a new guest, its own thread) of a \
            run that no worker has taken (run it against a deployment without workers): an idle stream that \
            watches a thread, which costs the gateway its thread subscription too. --transport ws-run is the \
            WebSocket that holds the same: each sends one message (a new thread) whose run no worker takes.
            """
    )

    @Option(help: "What the clients hold open: ws (idle WebSockets), ws-run (idle WebSockets watching a queued run) or sse (idle AG-UI streams).")
    var transport = Transport.ws

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
        var streams: [Int32] = []
        var failures = 0
        var firstFailure: String?
        var sink = ResultSink(path: output.results)
        let kind = transport == .sse ? "stream" : "connection"
        for count in counts {
            let start = WallClock.now()
            let needed = count - sockets.count - streams.count
            if transport == .sse {
                let (opened, failed, failure) = await Self.openStreams(needed, from: streams.count, port: target.port)
                streams += opened
                failures += failed
                if firstFailure == nil { firstFailure = failure }
            } else {
                let startsRun = transport == .wsRun
                let opened: [Result<BenchSocket, any Error>] = await boundedConcurrentMap(needed, width: connectConcurrency) { _ in
                    do {
                        let socket = try await BenchSocket.connect(target, logger: logger) { _, _ in }
                        if startsRun { try await socket.send(.userMessage(.init(content: "wait 300 seconds", clientMessageID: nil))) }
                        return .success(socket)
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
            let open = sockets.count + streams.count
            let perConnection = open > 0 ? (rss - before) / Double(open) : .nan
            let scrape = try? await target.metrics.scrape()
            let gauge =
                transport == .sse
                ? scrape?.value("herald_gateway_sse_streams") : scrape?.value("herald_gateway_connections")
            print(
                "      \(Format.grouped(Double(open))) \(kind)s (\(failures) failed, opened in \(String(format: "%.1f", connectSeconds)) s; gateway gauge \(gauge.map { Format.grouped($0) } ?? "-")): "
                    + "\(String(format: "%.1f", rss / 1024)) MiB resident, \(String(format: "%.1f", perConnection)) KiB per \(kind)"
            )
            let isLargest = count == counts.last
            let (key, what) =
                switch transport {
                case .ws: ("idle.\(count)", "connection")
                case .wsRun: ("idle.ws_run.\(count)", "connection watching a run")
                case .sse: ("idle.sse.\(count)", "SSE stream")
                }
            sink.add(
                "idle \(transport.rawValue) \(count)",
                "\(key).kib_per_\(kind)",
                "gateway memory per idle \(what) (\(Format.grouped(Double(count))))",
                perConnection,
                .kibibytes,
                target: isLargest ? .atMost(targetKiB) : nil
            )
            sink.add(
                "idle \(transport.rawValue) \(count)",
                "\(key).rss",
                "gateway resident memory at \(Format.grouped(Double(count))) \(kind)s",
                rss / 1024,
                .mebibytes
            )
        }
        sink.add(
            "idle",
            "idle.errors",
            "idle connections that failed",
            Double(failures),
            .count,
            target: .atMost(0),
            note: firstFailure.map { "first failure: \($0)" }
        )
        try sink.write()

        let closeStart = WallClock.now()
        let opened = sockets
        _ = await boundedConcurrentMap(opened.count, width: 256) { index in
            await opened[index].close()
        }
        for fd in streams { _ = Glibc.close(fd) }
        print("      closed \(opened.count + streams.count) \(kind)s in \(String(format: "%.1f", WallClock.now() - closeStart)) s")
    }

    /// Opens `count` AG-UI streams on plain sockets, each a new guest's run on a thread of its own, and reads only
    /// each answer's head: the streams stay open and idle. Returns the sockets, how many failed and the first failure.
    static func openStreams(_ count: Int, from first: Int, port: Int) async -> ([Int32], Int, String?) {
        let prefix = UUID().uuidString.prefix(8)
        return
            (try? await Blocking.run { () -> ([Int32], Int, String?) in
                var opened: [Int32] = []
                var failed = 0
                var firstFailure: String?
                for index in first..<(first + count) {
                    do {
                        let fd = try LoopbackSocket.connect(port: port, receiveTimeoutSeconds: 20)
                        let body =
                            #"{"threadId":"idle-\#(prefix)-\#(index)","runId":"idle-run-\#(prefix)-\#(index)","messages":[{"id":"m","role":"user","content":"wait 300 seconds"}]}"#
                        do {
                            _ = try LoopbackSocket.postJSON(fd, path: "/agui", body: body, expecting: 200)
                        } catch {
                            _ = Glibc.close(fd)
                            throw error
                        }
                        opened.append(fd)
                    } catch {
                        failed += 1
                        if firstFailure == nil { firstFailure = "\(error)" }
                    }
                }
                return (opened, failed, firstFailure)
            }) ?? ([], count, "the opening thread failed")
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
