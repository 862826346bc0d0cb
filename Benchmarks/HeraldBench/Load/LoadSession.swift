import Foundation
import HeraldProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The measurement window every session shares, in wall-clock seconds.
struct LoadWindow: Sendable {
    /// Runs sent from here on are measured (earlier ones are warm-up).
    var measureStart: Double
    /// No run is sent from here on; what is in flight drains.
    var measureEnd: Double

    func contains(_ time: Double) -> Bool { time >= measureStart && time < measureEnd }
}

/// What one session saw, merged into the totals at the end.
struct SessionTally: Sendable {
    /// Unknown (never contains anything) until the sessions are connected and the schedule is set.
    var window = LoadWindow(measureStart: .infinity, measureEnd: .infinity)
    var validator = RunRulesValidator()
    /// Latency of every event of a measured run, worker emit → receipt here (ms).
    var samples = LatencySamples()
    var eventsInWindow = 0
    var eventsTotal = 0
    var runsCompletedInWindow = 0
    var runsSent = 0
    var runsQueued = 0
    var runsEnded = 0
    var measuredRunsEnded = 0
    var measuredEvents = 0
    var lateStarts = 0
    var errorFrames: [String] = []
    var unknownFrames = 0
    var untimedEvents = 0
    var failures: [String] = []
    var unfinishedRuns = 0
    var measuredRuns: Set<String> = []
}

/// One simulated browser: a WebSocket as a new guest, one thread, a run every `interval` seconds.
///
/// Each run waits for the previous one on the thread to end (a person does not type while the answer
/// streams, and the gateway would answer `thread_busy`); a run that has to wait counts as a late start.
final class LoadSession: Sendable {
    /// What the reading side tells the driver.
    enum Signal: Sendable {
        case queued(runID: String, threadID: String, clientMessageID: String?)
        case error(ProtocolError)
        case ended(runID: String, at: Double)
        case closed
    }

    let index: Int
    private let tally = NIOLockedValueBox(SessionTally())
    private let signals: AsyncStream<Signal>
    private let signalContinuation: AsyncStream<Signal>.Continuation

    init(index: Int) {
        self.index = index
        (signals, signalContinuation) = AsyncStream<Signal>.makeStream()
    }

    var result: SessionTally { tally.withLockedValue { $0 } }

    func setWindow(_ window: LoadWindow) {
        tally.withLockedValue { $0.window = window }
    }

    // MARK: Reading

    /// Handles one frame from the gateway; runs on the socket's reading task.
    func received(_ data: ByteBuffer, at receivedAt: Double) {
        let isEvent = data.withUnsafeReadableBytes { FrameScanner.seq($0) } != nil
        let text = String(buffer: data)
        if isEvent, let frame = try? EventFrame.decode(text) {
            let emitted = HeraldTimestamp.secondsSince1970(frame.event.timestamp)
            let terminal = frame.event.isRunTerminal
            tally.withLockedValue { tally in
                tally.validator.observe(frame)
                tally.eventsTotal += 1
                if tally.window.contains(receivedAt) { tally.eventsInWindow += 1 }
                if tally.measuredRuns.contains(frame.runID) {
                    tally.measuredEvents += 1
                    if let emitted {
                        tally.samples.add((receivedAt - emitted) * 1000)
                    } else {
                        tally.untimedEvents += 1
                    }
                }
                if terminal {
                    tally.runsEnded += 1
                    if tally.window.contains(receivedAt) { tally.runsCompletedInWindow += 1 }
                    if tally.measuredRuns.contains(frame.runID) { tally.measuredRunsEnded += 1 }
                }
            }
            if terminal { signalContinuation.yield(.ended(runID: frame.runID, at: receivedAt)) }
            return
        }
        switch try? ServerMessage.decode(text) {
        case .runQueued(let queued)?:
            tally.withLockedValue { tally in
                tally.runsQueued += 1
                // The client_msg_id says whether the run was sent inside the window ("m-…") or during warm-up ("w-…").
                if queued.clientMessageID?.hasPrefix("m-") == true { tally.measuredRuns.insert(queued.runID) }
            }
            signalContinuation.yield(.queued(runID: queued.runID, threadID: queued.threadID, clientMessageID: queued.clientMessageID))
        case .error(let error)?:
            tally.withLockedValue { $0.errorFrames.append("\(error.code.rawValue): \(error.message)") }
            signalContinuation.yield(.error(error))
        case .pong?, .resumed?:
            break
        case .connectionEstablished?, nil:
            tally.withLockedValue { $0.unknownFrames += 1 }
        }
    }

    func socketClosed() {
        signalContinuation.yield(.closed)
        signalContinuation.finish()
    }

    func fail(_ message: String) {
        tally.withLockedValue { $0.failures.append(message) }
    }

    // MARK: Driving

    /// Sends one run on a thread of its own and waits for its end; how many events it had (nil if it failed).
    func probe(socket: BenchSocket, message: String) async -> Int? {
        let before = tally.withLockedValue { $0.eventsTotal }
        let id = "p-\(index)"
        var iterator = signals.makeAsyncIterator()
        do {
            try await socket.send(.userMessage(.init(content: message, clientMessageID: id)))
        } catch {
            return nil
        }
        tally.withLockedValue { $0.runsSent += 1 }
        var runID: String?
        while let signal = await iterator.next() {
            switch signal {
            case .queued(let run, _, let clientMessageID) where clientMessageID == id: runID = run
            case .ended(let run, _) where run == runID: return tally.withLockedValue { $0.eventsTotal } - before
            case .error, .closed: return nil
            default: continue
            }
        }
        return nil
    }

    /// Sends runs at `start + phase + k × interval` until the window closes, then waits for the last run to end.
    /// Cancelling the task (the drain deadline) stops it wherever it waits.
    func drive(socket: BenchSocket, message: String, window: LoadWindow, start: Double, phase: Double, interval: Double) async {
        var iterator = signals.makeAsyncIterator()
        var threadID: String?
        var activeRun: String?
        /// When each run's terminal event arrived.
        var ended: [String: Double] = [:]
        var closed = false

        /// Pulls signals until `done` holds; false when the socket closed or the task was cancelled.
        func pull(
            until done: () -> Bool,
            onQueued: (String, String, String?) -> Void = { _, _, _ in },
            onError: (ProtocolError) -> Void = { _ in }
        ) async -> Bool {
            while !done() {
                guard !closed, let signal = await iterator.next() else { return false }
                switch signal {
                case .queued(let runID, let thread, let clientMessageID): onQueued(runID, thread, clientMessageID)
                case .error(let error): onError(error)
                case .ended(let runID, let at): ended[runID] = at
                case .closed: closed = true
                }
            }
            return true
        }

        var k = 0
        while !Task.isCancelled {
            let slot = start + phase + Double(k) * interval
            guard slot < window.measureEnd else { break }
            let wait = slot - WallClock.now()
            if wait > 0 {
                try? await Task.sleep(for: .nanoseconds(Int64(wait * 1e9)))
            }
            if let run = activeRun {
                guard await pull(until: { ended[run] != nil }) else { break }
                // Late: the session's previous run was still going at this run's slot.
                if let endedAt = ended[run], endedAt > slot {
                    tally.withLockedValue { $0.lateStarts += 1 }
                }
                activeRun = nil
            }
            let id = "\(slot >= window.measureStart ? "m" : "w")-\(index)-\(k)"
            do {
                try await socket.send(.userMessage(.init(content: message, threadID: threadID, clientMessageID: id)))
            } catch {
                fail("send failed: \(error)")
                break
            }
            tally.withLockedValue { $0.runsSent += 1 }
            var answered = false
            let fine = await pull(
                until: { answered },
                onQueued: { runID, thread, clientMessageID in
                    guard clientMessageID == id else { return }
                    activeRun = runID
                    threadID = thread
                    answered = true
                },
                onError: { _ in
                    // Recorded by the reader; the run was not started.
                    answered = true
                }
            )
            guard fine else { break }
            k += 1
        }
        if let run = activeRun, ended[run] == nil {
            if await !pull(until: { ended[run] != nil }) {
                tally.withLockedValue { $0.unfinishedRuns += 1 }
            }
        }
        if closed {
            fail("the gateway closed the connection")
        }
    }
}
