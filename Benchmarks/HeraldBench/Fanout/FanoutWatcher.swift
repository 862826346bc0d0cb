import Foundation
import HeraldProtocol
import NIOConcurrencyHelpers
import NIOCore

/// Counts, for each batch of published frames, how many connections have received its last frame,
/// and wakes the publisher when all have.
final class FanoutProgress: Sendable {
    private struct State {
        var connections: Int
        var arrived: [Int]
        var waiters: [Int: [CheckedContinuation<Bool, Never>]] = [:]
        var completedAt: [Double?]
        var failed = false
    }

    private let state: NIOLockedValueBox<State>

    init(batches: Int, connections: Int) {
        state = NIOLockedValueBox(
            State(connections: connections, arrived: Array(repeating: 0, count: batches), completedAt: Array(repeating: nil, count: batches))
        )
    }

    /// One connection received the last frame of `batch` at `time`.
    func arrived(batch: Int, at time: Double) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Bool, Never>] in
            guard batch >= 0, batch < state.arrived.count else { return [] }
            state.arrived[batch] += 1
            guard state.arrived[batch] == state.connections else { return [] }
            state.completedAt[batch] = time
            return state.waiters.removeValue(forKey: batch) ?? []
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Waits until every connection has `batch`; false when the measurement was abandoned.
    func wait(for batch: Int) async -> Bool {
        await withCheckedContinuation { continuation in
            let now = state.withLockedValue { state -> Bool? in
                if state.failed { return false }
                if state.arrived[batch] >= state.connections { return true }
                state.waiters[batch, default: []].append(continuation)
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    /// When every connection had the batch's last frame.
    func completedAt(_ batch: Int) -> Double? {
        state.withLockedValue { $0.completedAt[batch] }
    }

    /// Gives up: every waiter returns false.
    func abandon() {
        let waiters = state.withLockedValue { state in
            state.failed = true
            defer { state.waiters = [:] }
            return state.waiters.values.flatMap { $0 }
        }
        for waiter in waiters { waiter.resume(returning: false) }
    }
}

/// One connection watching the benchmark's thread.
final class FanoutWatcher: Sendable {
    enum Signal: Sendable {
        case queued(runID: String, threadID: String)
        case resumed(ServerMessage.Resumed)
        case ended(runID: String, seq: Int, epoch: String)
        case error(ProtocolError)
        case closed
    }

    struct Tally: Sendable {
        /// Frames with a seq above this are the benchmark's; set before publishing starts.
        var baseSeq = Int.max
        var batchSize = 1
        var lastSeq = 0
        var frames = 0
        var sequenceViolations = 0
        var validator = RunRulesValidator()
        var samples = LatencySamples()
        var unknownFrames = 0
        var errors: [String] = []
    }

    let index: Int
    /// Whether every frame is decoded and run through the run-rules validator (costly at fan-out rates).
    let validates: Bool
    let progress: NIOLockedValueBox<FanoutProgress?>
    private let tally = NIOLockedValueBox(Tally())
    let signals: AsyncStream<Signal>
    private let continuation: AsyncStream<Signal>.Continuation

    init(index: Int, validates: Bool) {
        self.index = index
        self.validates = validates
        self.progress = NIOLockedValueBox(nil)
        (signals, continuation) = AsyncStream<Signal>.makeStream()
    }

    var result: Tally { tally.withLockedValue { $0 } }

    func startMeasuring(baseSeq: Int, batchSize: Int, progress: FanoutProgress) {
        self.progress.withLockedValue { $0 = progress }
        tally.withLockedValue { tally in
            tally.baseSeq = baseSeq
            tally.batchSize = batchSize
            // Every watcher stands at baseSeq now (the first saw the run, the others resumed after it).
            tally.lastSeq = baseSeq
        }
    }

    func received(_ data: ByteBuffer, at receivedAt: Double) {
        let header: (seq: Int, emitted: Double?)? = data.withUnsafeReadableBytes { bytes in
            FrameScanner.seq(bytes).map { ($0, FrameScanner.timestamp(bytes)) }
        }
        guard let header else {
            handleServerMessage(String(buffer: data))
            return
        }
        // Only the validated connections and the set-up frames pay for a full decode.
        var frame: EventFrame?
        let measuring = tally.withLockedValue { header.seq > $0.baseSeq }
        if validates || !measuring {
            frame = try? EventFrame.decode(String(buffer: data))
            if frame == nil {
                tally.withLockedValue { $0.unknownFrames += 1 }
                return
            }
        }
        let batchDone: Int? = tally.withLockedValue { tally in
            if let frame { tally.validator.observe(frame) }
            if header.seq != tally.lastSeq + 1, tally.lastSeq != 0 {
                tally.sequenceViolations += 1
            }
            tally.lastSeq = max(tally.lastSeq, header.seq)
            guard header.seq > tally.baseSeq else { return nil }
            tally.frames += 1
            if let emitted = header.emitted { tally.samples.add((receivedAt - emitted) * 1000) }
            let position = header.seq - tally.baseSeq
            return position % tally.batchSize == 0 ? position / tally.batchSize - 1 : nil
        }
        if let batchDone {
            progress.withLockedValue { $0 }?.arrived(batch: batchDone, at: receivedAt)
        }
        if !measuring, let frame, frame.event.isRunTerminal {
            continuation.yield(.ended(runID: frame.runID, seq: frame.seq, epoch: frame.epoch))
        }
    }

    private func handleServerMessage(_ text: String) {
        switch try? ServerMessage.decode(text) {
        case .runQueued(let queued)?:
            continuation.yield(.queued(runID: queued.runID, threadID: queued.threadID))
        case .resumed(let resumed)?:
            continuation.yield(.resumed(resumed))
        case .error(let error)?:
            tally.withLockedValue { $0.errors.append("\(error.code.rawValue): \(error.message)") }
            continuation.yield(.error(error))
        case .pong?:
            break
        case .connectionEstablished?, nil:
            tally.withLockedValue { $0.unknownFrames += 1 }
        }
    }

    func closed() {
        continuation.yield(.closed)
        continuation.finish()
    }

    func fail(_ message: String) {
        tally.withLockedValue { $0.errors.append(message) }
    }
}
