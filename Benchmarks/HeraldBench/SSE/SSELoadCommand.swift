import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// `herald-bench sse-load`: end-to-end latency over AG-UI streams (`POST /agui`), for comparison with `load` over
/// WebSockets at the same rate.
struct SSELoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-load",
        abstract: "Drives a running deployment through AG-UI streams (POST /agui) and measures end-to-end event latency.",
        discussion: """
            Runs --sessions simulated front ends, each a guest with one thread, starting a run every 1/--session-rate \
            seconds (after the previous one ended) as a `POST /agui` whose answer is the run's event stream. Latency \
            is each event's `timestamp` (the worker's emit time, millisecond precision, as in `load`) to its receipt \
            here. Runs that end without RUN_FINISHED count as failures. Compare with `load` at the same rate: the \
            same runs and events, over /ws.
            """
    )

    @Option(help: "The gateway's host.")
    var host = "127.0.0.1"

    @Option(help: "The gateway's port.")
    var port = 8080

    @Option(help: "Concurrent sessions, each with its own stream at a time.")
    var sessions = 50

    @Option(help: "Runs started per second by each session.")
    var sessionRate = 2.0

    @Option(help: "Seconds of measurement (after the warm-up).")
    var duration = 20.0

    @Option(help: "Seconds of load before measurement starts.")
    var warmup = 5.0

    @Option(help: "The message every run sends; the default makes the offline model call the calculator tool.")
    var message = "what is (17*3)+4?"

    @OptionGroup var output: ResultOptions

    /// What all sessions saw.
    private struct Tally: Sendable {
        var samples = LatencySamples()
        var events = 0
        var runs = 0
        var failures: [String] = []
    }

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let tally = NIOLockedValueBox(Tally())
        let start = WallClock.now()
        let measureStart = start + warmup
        let measureEnd = measureStart + duration
        print(
            "sse-load: http://\(host):\(port)/agui, \(sessions) sessions at \(sessionRate) runs/s each, \(warmup) s warm-up, \(duration) s measured"
        )
        await withTaskGroup(of: Void.self) { group in
            for session in 0..<sessions {
                group.addTask {
                    // Spread the sessions' first runs over one interval.
                    try? await Task.sleep(for: .seconds(Double(session) / Double(sessions) / sessionRate))
                    var token: String?
                    var next = WallClock.now()
                    while next < measureEnd {
                        let wait = next - WallClock.now()
                        if wait > 0 { try? await Task.sleep(for: .seconds(wait)) }
                        let sentAt = WallClock.now()
                        let measured = sentAt >= measureStart && sentAt < measureEnd
                        do {
                            let result = try await Self.oneRun(client, host: host, port: port, token: token, message: message, session: session)
                            token = result.token ?? token
                            tally.withLockedValue { tally in
                                guard measured else { return }
                                tally.runs += 1
                                tally.events += result.latencies.count
                                for latency in result.latencies { tally.samples.add(latency) }
                                if !result.finished { tally.failures.append("a run's stream ended without RUN_FINISHED") }
                            }
                        } catch {
                            tally.withLockedValue { $0.failures.append("\(error)") }
                        }
                        next = max(sentAt + 1 / sessionRate, WallClock.now())
                    }
                }
            }
        }
        try? await client.shutdown()
        let result = tally.withLockedValue { $0 }
        let seconds = duration
        print(
            "sse-load: \(result.runs) runs, \(result.events) events measured (\(Format.grouped(Double(result.events) / seconds)) events/s), \(result.failures.count) failures"
        )
        if let first = result.failures.first { print("         first failure: \(first)") }
        var sink = ResultSink(path: output.results)
        if let summary = result.samples.summary() {
            print("         latency \(summary.line)")
            sink.add("sse-load", "sse.p50_ms", "end-to-end latency p50 over AG-UI SSE", summary.p50, .milliseconds)
            sink.add("sse-load", "sse.p99_ms", "end-to-end latency p99 over AG-UI SSE", summary.p99, .milliseconds)
        }
        sink.add("sse-load", "sse.events_per_second", "events delivered over AG-UI SSE", Double(result.events) / seconds, .perSecond)
        sink.add("sse-load", "sse.errors", "SSE runs that failed", Double(result.failures.count), .count, target: .atMost(0))
        try sink.write()
    }

    /// One run: its stream read to the end; each event's latency in ms.
    private static func oneRun(
        _ client: HTTPClient,
        host: String,
        port: Int,
        token: String?,
        message: String,
        session: Int
    ) async throws -> (latencies: [Double], finished: Bool, token: String?) {
        var request = HTTPClientRequest(url: "http://\(host):\(port)/agui")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let body =
            #"{"threadId":"sse-load-\#(session)-\#(UUID().uuidString.prefix(8))","runId":"\#(UUID().uuidString)","messages":[{"id":"m","role":"user","content":\#(String(reflecting: message))}]}"#
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(60))
        guard response.status == .ok else {
            throw ValidationError("POST /agui answered \(response.status.code)")
        }
        var latencies: [Double] = []
        var finished = false
        var pending = ByteBuffer()
        for try await var chunk in response.body {
            let receivedAt = WallClock.now()
            pending.writeBuffer(&chunk)
            // Events end with a blank line; each `timestamp` is read without decoding the JSON.
            while let view = pending.readableBytesView.firstRange(of: [10, 10]) {
                let length = view.upperBound - pending.readerIndex
                guard let event = pending.readString(length: length) else { break }
                if let emitted = timestamp(in: event) { latencies.append(max(0, receivedAt * 1000 - emitted)) }
                if event.contains("\"type\":\"RUN_FINISHED\"") || event.contains("\"type\":\"RUN_ERROR\"") { finished = true }
            }
        }
        return (latencies, finished, response.headers.first(name: "X-Herald-Guest-Token"))
    }

    /// The event's `"timestamp":` milliseconds.
    private static func timestamp(in event: String) -> Double? {
        guard let key = event.range(of: "\"timestamp\":") else { return nil }
        let digits = event[key.upperBound...].prefix { $0.isNumber }
        return Double(digits)
    }
}
