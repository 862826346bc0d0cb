import ArgumentParser
import Foundation
import HeraldProtocol
import HeraldTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// `herald-bench stream`: what `HERALD_STREAM_COALESCE_MS` does to a long answer streamed at a real model's pace.
struct StreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Streams long answers at a model's pace through a private deployment, once per coalescing interval, and compares them.",
        discussion: """
            Starts, in this process, the scripted OpenAI-compatible model server of HeraldTesting; then, for each \
            value of --coalesce-ms, a fresh private deployment of the built executables (redis-server, 1 relay, \
            1 worker, the gateway; HERALD_BIN_DIR or the folder of this executable) with HERALD_LLM_BASE_URL on that \
            server and HERALD_STREAM_COALESCE_MS set to the value. One guest connection sends --runs messages, each \
            on a new thread, one after the other (after one short unmeasured warm-up run). Each run makes two model \
            requests: triage (a short reply), then the answer, --tokens tokens, one OpenAI chunk per token, token k \
            due at the first one's time + (k - 1) / --tokens-per-second. Per answer it counts the run's partial_result events, all its events and \
            the UTF-8 bytes of their frames as received; it times the first partial_result with text (TTFT, from \
            sending user_message), the model server's sending of the first token (so what Herald adds is seen \
            apart) and the terminal event; and it reads the CPU time the deployment's processes used. The streamed \
            text must equal the tokens joined, the run must keep the run rules and the model must get two requests \
            a run, or the command fails.
            """
    )

    @Option(help: "Values of HERALD_STREAM_COALESCE_MS to compare, comma-separated (0 = one event per token).")
    var coalesceMs = "0,40"

    @Option(help: "Tokens in each answer.")
    var tokens = 3_000

    @Option(help: "The model's pace: tokens streamed per second.")
    var tokensPerSecond = 75.0

    @Option(help: "Measured answers per coalescing value.")
    var runs = 3

    @OptionGroup var output: ResultOptions

    /// The message every run sends; the scripted model answers it whatever it says.
    static let message = "Explain, at length, how Herald carries a streamed answer to every tab."
    /// What the scripted model answers the run's first (triage) request.
    static let triageReply = "A long answer; no tools needed."
    /// Tokens of the warm-up answer, sent without pauses.
    static let warmUpTokens = 20

    mutating func validate() throws {
        _ = try coalescingValues()
        guard tokens > 0, tokensPerSecond > 0, runs > 0 else {
            throw ValidationError("--tokens, --tokens-per-second and --runs must be positive")
        }
    }

    /// `--coalesce-ms` as numbers, in the given order.
    func coalescingValues() throws -> [Int] {
        let values = coalesceMs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let numbers = values.compactMap { Int($0) }
        guard !numbers.isEmpty, numbers.count == values.count, numbers.allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("--coalesce-ms must be non-negative whole milliseconds, comma-separated, e.g. 0,40; got '\(coalesceMs)'")
        }
        return numbers
    }

    func run() async throws {
        let values = try coalescingValues()
        let answer = Self.answerTokens(tokens)
        let warmUp = Self.answerTokens(Self.warmUpTokens)
        let answerBytes = answer.joined().utf8.count
        print(
            "stream: \(Format.grouped(Double(tokens))) tokens (\(Format.grouped(Double(answerBytes))) bytes of text) at \(tokensPerSecond) tokens/s, \(runs) runs per value, HERALD_STREAM_COALESCE_MS \(values.map(String.init).joined(separator: ", "))"
        )
        printNow("        executables from \(ServiceProcess.binDirectory.path)")

        let model = try await ScriptedModelServer.start()
        var summaries: [CoalescingSummary] = []
        do {
            for value in values {
                let measurements = try await measure(coalesceMilliseconds: value, answer: answer, warmUp: warmUp, model: model)
                summaries.append(CoalescingSummary(coalesceMilliseconds: value, measurements: measurements))
            }
        } catch {
            try? await model.stop()
            throw error
        }
        try await model.stop()

        print("")
        print(
            "stream results (\(Format.grouped(Double(tokens))) tokens at \(tokensPerSecond) tokens/s; medians over \(runs) answer\(runs == 1 ? "" : "s"); CPU of redis-server, relay, worker and gateway):"
        )
        CoalescingSummary.printTable(summaries)

        var sink = ResultSink(path: output.results)
        for summary in summaries { summary.record(into: &sink, tokens: tokens, tokensPerSecond: tokensPerSecond) }
        try sink.write()
    }

    /// Starts a deployment with `HERALD_STREAM_COALESCE_MS=coalesceMilliseconds`, streams a warm-up answer and then
    /// `runs` measured ones through it, and stops it.
    private func measure(
        coalesceMilliseconds: Int,
        answer: [String],
        warmUp: [String],
        model: ScriptedModelServer
    ) async throws -> [AnswerMeasurement] {
        print("")
        printNow("HERALD_STREAM_COALESCE_MS=\(coalesceMilliseconds): starting redis-server, relay, worker, gateway")
        let deployment = try await HeraldDeployment.start(
            workers: 1,
            relays: 1,
            environment: [
                "HERALD_LLM_BASE_URL": model.baseURL,
                "HERALD_LLM_MODEL": "scripted-stream-bench",
                "HERALD_STREAM_COALESCE_MS": String(coalesceMilliseconds),
            ]
        )
        let recorder = AnswerRecorder()
        var socket: BenchSocket?
        do {
            let processes = try await Self.deploymentProcesses(deployment)
            let target = GatewayTarget(host: "127.0.0.1", port: deployment.gatewayPort)
            let connected = try await BenchSocket.connect(target, logger: quietLogger("herald-bench.stream", .error)) { data, receivedAt in
                recorder.received(data, at: receivedAt)
            }
            socket = connected
            Task {
                _ = await connected.closed()
                recorder.fail("the gateway closed the connection")
            }
            let requestsBefore = await model.requests().count
            var stream = AnswerStream(socket: connected, recorder: recorder, model: model, processes: processes, requestsBefore: requestsBefore)
            _ = try await stream.answer(warmUp, tokensPerSecond: nil)
            var measurements: [AnswerMeasurement] = []
            for number in 1...runs {
                let measurement = try await stream.answer(answer, tokensPerSecond: tokensPerSecond)
                printNow("  run \(number): \(measurement.line)")
                measurements.append(measurement)
            }
            await connected.close()
            await deployment.stop()
            return measurements
        } catch {
            await socket?.close()
            await deployment.stop()
            print("  failed; the deployment's logs are in \(deployment.logDirectory.path)")
            throw error
        }
    }

    /// The processes that carry an answer, for their CPU time: redis-server (its pid from `INFO server`) and the services.
    private static func deploymentProcesses(_ deployment: HeraldDeployment) async throws -> [WatchedProcess] {
        var processes = (deployment.relays + deployment.workers + [deployment.gateway].compactMap { $0 }).map {
            WatchedProcess(name: $0.name, pid: $0.pid)
        }
        let info = try await deployment.redis.string("INFO", "server") ?? ""
        let pidLine = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }
        if let pid = pidLine.flatMap({ Int32($0.dropFirst("process_id:".count).trimmingCharacters(in: .whitespaces)) }) {
            processes.insert(WatchedProcess(name: "redis-server", pid: pid), at: 0)
        } else {
            print("  warning: no process_id in redis-server's INFO; its CPU is left out")
        }
        return processes
    }

    /// Tokens shaped like a model's (a word with its leading space, punctuation, now and then a paragraph break),
    /// drawn with a fixed seed so every run streams the same text and a token out of place changes it.
    static func answerTokens(_ count: Int) -> [String] {
        let words = [
            "the", "relay", "worker", "gateway", "stream", "event", "thread", "answer", "model", "token", "Redis",
            "history", "sequence", "publishes", "carries", "every", "tab", "which", "resumes", "where", "it", "left",
            "off", "and", "a", "of", "to", "in", "is", "that", "run", "ends", "once", "with", "its", "terminal",
            "partial", "result", "connection", "browser", "latency", "coalescing", "interval", "text", "user",
        ]
        var generator = SeededGenerator(seed: 0x5EED_2026)
        return (0..<count).map { index in
            if index > 0, generator.chance(0.01) { return ".\n\n" }
            if index > 0, generator.chance(0.06) { return "." }
            if index > 0, generator.chance(0.04) { return "," }
            return " " + generator.element(of: words)
        }
    }
}

/// Prints a progress line and flushes it, so each run's line shows as it ends also through a pipe or into a file.
/// `fflush(nil)` flushes every output stream: Swift 6 does not let `stdout` itself be named (it is not Sendable).
private func printNow(_ line: String) {
    print(line)
    fflush(nil)
}

/// Failures that make `stream` stop: a run that did not deliver exactly what the model streamed.
struct StreamBenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Sends one answer's message at a time on one connection and measures it.
private struct AnswerStream {
    let socket: BenchSocket
    let recorder: AnswerRecorder
    let model: ScriptedModelServer
    let processes: [WatchedProcess]
    /// Model requests expected so far: two a run, so a retried request (which would pair the next run's
    /// scripted replies wrongly) is caught.
    var expectedRequests: Int

    init(socket: BenchSocket, recorder: AnswerRecorder, model: ScriptedModelServer, processes: [WatchedProcess], requestsBefore: Int) {
        self.socket = socket
        self.recorder = recorder
        self.model = model
        self.processes = processes
        self.expectedRequests = requestsBefore
    }

    /// The steps after each token of an answer: the first and the last note when they were sent, and with a
    /// pace each waits until the next token is due, token k at (first token sent) + (k - 1) / `tokensPerSecond`.
    ///
    /// Due times rather than `tokenStream`'s pause per token: a sleep overshoots by a millisecond or two, and 3,000
    /// of them made 75 tokens/s into 67.
    static func schedule(_ count: Int, tokensPerSecond: Double?, times: ModelSideTimes) -> [Int: ScriptedModelServer.Step] {
        let interval = tokensPerSecond.map { Duration.seconds(1 / $0) }
        var steps: [Int: ScriptedModelServer.Step] = [:]
        for token in 1...count {
            steps[token] = .waitUntil {
                if token == 1 { times.firstTokenSent() }
                if token == count {
                    times.lastTokenSent()
                } else if let interval {
                    await times.sleep(untilTokenDue: token + 1, interval: interval)
                }
            }
        }
        return steps
    }

    /// Scripts triage and an answer of `tokens` (`tokensPerSecond`, or as fast as it goes when nil), sends the
    /// message on a new thread, waits for the run's terminal event and checks what arrived.
    mutating func answer(_ tokens: [String], tokensPerSecond: Double?) async throws -> AnswerMeasurement {
        let modelTimes = ModelSideTimes()
        await model.enqueue(ScriptedModelServer.stream(ProviderTranscripts.triage(StreamCommand.triageReply)))
        await model.enqueue(
            ScriptedModelServer.tokenStream(tokens, after: Self.schedule(tokens.count, tokensPerSecond: tokensPerSecond, times: modelTimes))
        )
        let clientMessageID = "stream-\(UUID().uuidString.prefix(8).lowercased())"
        recorder.expect(clientMessageID: clientMessageID)
        let streamSeconds = tokensPerSecond.map { Double(tokens.count) / $0 } ?? 0
        let timeout = 60 + 2 * streamSeconds

        // This process (the model server and the client) is read too, so that it does not count as other work.
        let watched = processes + [WatchedProcess.current]
        let cpuBefore = CPUSnapshot.take(watched)
        let sentAt = WallClock.now()
        try await socket.send(.userMessage(.init(content: StreamCommand.message, clientMessageID: clientMessageID)))
        let outcome = await recorder.outcome(within: timeout)
        let cpuAfter = CPUSnapshot.take(watched)

        guard case .ended(let runID, let arrivals) = outcome else {
            if case .failed(let reason) = outcome { throw StreamBenchFailure("run \(clientMessageID): \(reason)") }
            throw StreamBenchFailure("run \(clientMessageID) ended without an outcome")
        }
        expectedRequests += 2
        let requests = await model.requests().count
        guard requests == expectedRequests else {
            throw StreamBenchFailure(
                "run \(runID): the model received \(requests) requests so far, expected \(expectedRequests) (two a run: triage, answer)"
            )
        }
        let frames = arrivals.map(\.frame)
        if case .agentError(let error)? = frames.last?.event.payload {
            throw StreamBenchFailure("run \(runID) ended with agent_error \(error.code.rawValue): \(error.message)")
        }
        let violations = RunRulesValidator.validate(frames)
        guard violations.isEmpty else {
            throw StreamBenchFailure("run \(runID) broke the run rules: \(violations.prefix(3).map { "\($0)" }.joined(separator: "; "))")
        }
        let partials = arrivals.compactMap { arrival -> (content: String, receivedAt: Double)? in
            if case .partialResult(let body) = arrival.frame.event.payload { (body.content, arrival.receivedAt) } else { nil }
        }
        let streamed = partials.map(\.content).joined()
        let expected = tokens.joined()
        guard streamed == expected else {
            let common = zip(streamed, expected).prefix { $0 == $1 }.count
            throw StreamBenchFailure(
                "run \(runID): the streamed text (\(streamed.count) characters) differs from the tokens joined (\(expected.count)) from character \(common): \(String(streamed.dropFirst(common).prefix(40)).debugDescription) vs \(String(expected.dropFirst(common).prefix(40)).debugDescription)"
            )
        }
        guard let firstText = partials.first(where: { !$0.content.isEmpty }), let terminal = arrivals.last,
            let firstTokenSentAt = modelTimes.firstTokenSentAt,
            let lastTokenSentAt = modelTimes.lastTokenSentAt
        else {
            throw StreamBenchFailure("run \(runID): no text, no terminal event or no first token")
        }
        let cpuByProcess = processes.compactMap { process -> (name: String, seconds: Double)? in
            guard let after = cpuAfter.seconds[process.name], let before = cpuBefore.seconds[process.name] else { return nil }
            return (process.name, after - before)
        }
        return AnswerMeasurement(
            partialResults: partials.count,
            events: arrivals.count,
            frameBytes: arrivals.reduce(0) { $0 + $1.bytes },
            timeToFirstToken: (firstText.receivedAt - sentAt) * 1000,
            modelFirstToken: (firstTokenSentAt - sentAt) * 1000,
            modelTokensPerSecond: tokens.count > 1 ? Double(tokens.count - 1) / max(lastTokenSentAt - firstTokenSentAt, 1e-9) : .nan,
            totalSeconds: terminal.receivedAt - sentAt,
            cpuByProcess: cpuByProcess,
            otherProcessesCores: cpuAfter.usage(since: cpuBefore, order: watched).first { $0.name == CPUSnapshot.othersName }?.cores ?? .nan
        )
    }
}

/// When the scripted model sent an answer's first and last tokens, on the bench's wall clock.
private final class ModelSideTimes: Sendable {
    private struct Sent {
        var first: Double?
        /// The first token's instant on the continuous clock, where the next tokens' due times count from.
        var firstInstant: ContinuousClock.Instant?
        var last: Double?
    }

    private let sent = NIOLockedValueBox(Sent())

    /// Called once the first token's chunk has been written and flushed.
    func firstTokenSent() {
        let now = WallClock.now()
        let instant = ContinuousClock.now
        sent.withLockedValue { sent in
            guard sent.first == nil else { return }
            sent.first = now
            sent.firstInstant = instant
        }
    }

    /// Called once the last token's chunk has been written and flushed.
    func lastTokenSent() {
        let now = WallClock.now()
        sent.withLockedValue { $0.last = now }
    }

    /// Sleeps until token number `token` is due: `interval` per token after the first.
    func sleep(untilTokenDue token: Int, interval: Duration) async {
        guard let first = sent.withLockedValue({ $0.firstInstant }) else { return }
        try? await Task.sleep(until: first + interval * (token - 1), clock: .continuous)
    }

    var firstTokenSentAt: Double? { sent.withLockedValue { $0.first } }
    var lastTokenSentAt: Double? { sent.withLockedValue { $0.last } }
}

/// The connection's side of the run in flight: its event frames with their sizes and receipt times, until its terminal event.
final class AnswerRecorder: Sendable {
    /// One event frame as it arrived.
    struct Arrival: Sendable {
        var frame: EventFrame
        /// The frame's text length in UTF-8, as received.
        var bytes: Int
        /// `WallClock` seconds, taken as the frame was read.
        var receivedAt: Double
    }

    /// How the run in flight ended for this connection.
    enum Outcome: Sendable {
        /// Its terminal event arrived; `arrivals` are its event frames, in order.
        case ended(runID: String, arrivals: [Arrival])
        case failed(String)
    }

    /// A waiting caller and what to wake it with.
    private typealias Wake = (waiter: CheckedContinuation<Outcome, Never>, outcome: Outcome)

    private struct State {
        var clientMessageID: String?
        var runID: String?
        var arrivals: [Arrival] = []
        var terminatedRunIDs: Set<String> = []
        var outcome: Outcome?
        var waiter: CheckedContinuation<Outcome, Never>?

        /// Sets the outcome once the run is known and its terminal event has arrived.
        mutating func concludeIfEnded() -> Wake? {
            guard outcome == nil, let runID, terminatedRunIDs.contains(runID) else { return nil }
            return conclude(.ended(runID: runID, arrivals: arrivals.filter { $0.frame.runID == runID }))
        }

        /// Sets the outcome unless there is one; the caller to wake, if one waits.
        mutating func conclude(_ outcome: Outcome) -> Wake? {
            guard self.outcome == nil else { return nil }
            self.outcome = outcome
            defer { waiter = nil }
            return waiter.map { ($0, outcome) }
        }
    }

    private let state = NIOLockedValueBox(State())

    /// Starts recording for the message sent with `clientMessageID`; what came before is dropped.
    func expect(clientMessageID: String) {
        state.withLockedValue { $0 = State(clientMessageID: clientMessageID) }
    }

    /// Handles one frame (on the socket's reading task).
    func received(_ data: ByteBuffer, at receivedAt: Double) {
        let text = String(buffer: data)
        let isEvent = data.withUnsafeReadableBytes { FrameScanner.seq($0) != nil }
        let wake: Wake?
        if isEvent {
            guard let frame = try? EventFrame.decode(text) else {
                fail("an event frame that does not decode: \(text.prefix(200))")
                return
            }
            wake = state.withLockedValue { state in
                state.arrivals.append(Arrival(frame: frame, bytes: data.readableBytes, receivedAt: receivedAt))
                if frame.event.isRunTerminal { state.terminatedRunIDs.insert(frame.runID) }
                return state.concludeIfEnded()
            }
        } else {
            switch try? ServerMessage.decode(text) {
            case .runQueued(let queued)?:
                wake = state.withLockedValue { state in
                    guard queued.clientMessageID == state.clientMessageID else { return nil }
                    state.runID = queued.runID
                    return state.concludeIfEnded()
                }
            case .error(let error)?:
                fail("the gateway answered with error \(error.code.rawValue): \(error.message)")
                return
            default:
                return
            }
        }
        if let wake { wake.waiter.resume(returning: wake.outcome) }
    }

    /// Ends the run in flight as failed (a close, a timeout); nothing if it has already ended.
    func fail(_ reason: String) {
        if let wake = state.withLockedValue({ $0.conclude(.failed(reason)) }) {
            wake.waiter.resume(returning: wake.outcome)
        }
    }

    /// Waits for the run in flight to end, at most `seconds`.
    func outcome(within seconds: Double) async -> Outcome {
        let timer = Task { [self] in
            try await Task.sleep(for: .seconds(seconds))
            fail("no terminal event within \(Int(seconds)) s")
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state -> Outcome? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// What one answer cost and how fast it came.
struct AnswerMeasurement: Sendable {
    var partialResults: Int
    var events: Int
    /// UTF-8 bytes of all the run's event frames, as received.
    var frameBytes: Int
    /// Sending user_message → the first partial_result with text, in ms.
    var timeToFirstToken: Double
    /// Sending user_message → the model server's sending of the answer's first token, in ms.
    var modelFirstToken: Double
    /// The pace the model server kept: tokens after the first / (last token sent - first token sent).
    var modelTokensPerSecond: Double
    /// Sending user_message → the run's terminal event, in seconds.
    var totalSeconds: Double
    /// CPU seconds (user + system) that redis-server and each service used during the run.
    var cpuByProcess: [(name: String, seconds: Double)]

    /// What the machine's other processes (neither the deployment nor this one) used meanwhile, in cores.
    var otherProcessesCores: Double

    /// CPU seconds of all of them together.
    var deploymentCPUSeconds: Double { cpuByProcess.reduce(0) { $0 + $1.seconds } }

    /// What Herald added to the first token: the model's first token sent → its partial_result received, in ms.
    var firstTokenDelay: Double { timeToFirstToken - modelFirstToken }

    var line: String {
        "\(Format.grouped(Double(partialResults))) partial_result of \(Format.grouped(Double(events))) events, "
            + String(
                format: "%.1f KiB; TTFT %@ (model's first token at %@, +%@); %.2f s; model %.1f tokens/s; CPU %.2f s",
                Double(frameBytes) / 1024,
                Format.milliseconds(timeToFirstToken),
                Format.milliseconds(modelFirstToken),
                Format.milliseconds(firstTokenDelay),
                totalSeconds,
                modelTokensPerSecond,
                deploymentCPUSeconds
            )
            + " (" + cpuByProcess.map { String(format: "%@ %.2f", $0.name, $0.seconds) }.joined(separator: ", ") + ")"
            + "; other processes \(Format.percent(otherProcessesCores)) of a core"
    }
}

/// The answers of one coalescing value, summed up as medians.
struct CoalescingSummary: Sendable {
    var coalesceMilliseconds: Int
    var measurements: [AnswerMeasurement]

    /// The middle value (the mean of the two middle ones for an even count).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    func median(_ figure: (AnswerMeasurement) -> Double) -> Double { Self.median(measurements.map(figure)) }

    var partialResults: Double { median { Double($0.partialResults) } }
    var events: Double { median { Double($0.events) } }
    var kibibytes: Double { median { Double($0.frameBytes) / 1024 } }
    var timeToFirstToken: Double { median(\.timeToFirstToken) }
    var modelFirstToken: Double { median(\.modelFirstToken) }
    var firstTokenDelay: Double { median(\.firstTokenDelay) }
    var totalSeconds: Double { median(\.totalSeconds) }
    var modelTokensPerSecond: Double { median(\.modelTokensPerSecond) }
    var cpuSeconds: Double { median(\.deploymentCPUSeconds) }

    /// Each process's median CPU seconds per answer, in the order measured.
    var cpuByProcess: [(name: String, seconds: Double)] {
        let names = measurements.first?.cpuByProcess.map(\.name) ?? []
        return names.map { name in
            (name, median { measurement in measurement.cpuByProcess.first { $0.name == name }?.seconds ?? .nan })
        }
    }

    static func printTable(_ summaries: [CoalescingSummary]) {
        let header = [
            "coalesce ms", "partial_result events per answer", "events per answer", "KiB per answer", "TTFT p50 (ms)",
            "model's first token p50 (ms)", "Herald's part p50 (ms)", "total s", "model tokens/s", "CPU s per answer",
        ]
        let rows = summaries.map { summary in
            [
                String(summary.coalesceMilliseconds), Format.grouped(summary.partialResults), Format.grouped(summary.events),
                String(format: "%.1f", summary.kibibytes), String(format: "%.1f", summary.timeToFirstToken),
                String(format: "%.1f", summary.modelFirstToken), String(format: "%.1f", summary.firstTokenDelay),
                String(format: "%.2f", summary.totalSeconds), String(format: "%.1f", summary.modelTokensPerSecond),
                String(format: "%.2f", summary.cpuSeconds),
            ]
        }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { Format.padded($1, widths[$0], right: true) }.joined(separator: " | ")
        }
        print(line(header))
        print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-"))
        for row in rows { print(line(row)) }
        print("")
        print("CPU seconds per answer by process (medians), and the most other processes used during one of the answers:")
        for summary in summaries {
            let parts = summary.cpuByProcess.map { String(format: "%@ %.2f", $0.name, $0.seconds) }
            let others = summary.measurements.map(\.otherProcessesCores).max() ?? .nan
            print(
                "  \(summary.coalesceMilliseconds) ms: " + parts.joined(separator: ", ")
                    + "; other processes up to \(Format.percent(others)) of a core"
            )
        }
    }

    func record(into sink: inout ResultSink, tokens: Int, tokensPerSecond: Double) {
        let stage = "stream \(coalesceMilliseconds)ms"
        let key = "stream.coalesce\(coalesceMilliseconds)"
        let answer = "\(Format.grouped(Double(tokens))) tokens at \(Format.grouped(tokensPerSecond))/s"
        sink.add(stage, "\(key).partial_results", "partial_result events per answer (\(answer))", partialResults, .count)
        sink.add(stage, "\(key).events", "events per answer", events, .count)
        sink.add(stage, "\(key).kib", "event frames received per answer", kibibytes, .kibibytes)
        sink.add(stage, "\(key).ttft.p50", "time to first token p50 (user_message → first text)", timeToFirstToken, .milliseconds)
        sink.add(stage, "\(key).model_first_token.p50", "model's first token sent p50 (user_message → sent)", modelFirstToken, .milliseconds)
        sink.add(stage, "\(key).first_token_delay.p50", "Herald's part of the first token p50 (sent → received)", firstTokenDelay, .milliseconds)
        sink.add(stage, "\(key).total.p50", "user_message → terminal event p50", totalSeconds * 1000, .milliseconds)
        sink.add(stage, "\(key).model_tokens_per_second", "model server's pace, kept (tokens/s)", modelTokensPerSecond, .perSecond)
        sink.add(stage, "\(key).cpu_seconds", "CPU of redis-server + services per answer", cpuSeconds * 1000, .milliseconds)
    }
}
