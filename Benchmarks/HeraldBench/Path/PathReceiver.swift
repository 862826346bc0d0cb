import NIOCore
import Synchronization

/// The emit time every path event carries in its text, `@t=<microseconds since 1970>;`, so the receiver can time
/// it to the microsecond whatever the system does to the rest of the frame.
enum EmitStamp {
    static func text(emittedAt seconds: Double) -> String {
        "@t=\(Int64((seconds * 1e6).rounded()));"
    }

    /// Calls `body` with each emit time in `bytes`, in seconds since 1970, in order.
    static func forEach(in bytes: UnsafeRawBufferPointer, _ body: (Double) -> Void) {
        var offset = 0
        while offset < bytes.count, let found = FrameScanner.find("@t=", in: UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
            var index = offset + found
            let start = index
            var value: Int64 = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                value = value * 10 + Int64(bytes[index] - 0x30)
                index += 1
            }
            if index > start { body(Double(value) / 1e6) }
            offset = index
        }
    }
}

/// The measurement window of a path round: events emitted inside it are the samples.
struct PathWindow: Sendable {
    var start: Double
    var end: Double

    static let never = PathWindow(start: .infinity, end: .infinity)

    func contains(_ time: Double) -> Bool { time >= start && time < end }
}

/// One subscriber's side of a path round: what reached it, when, and whether Herald's `seq` stayed unbroken.
final class PathReceiver: Sendable {
    struct State {
        var window = PathWindow.never
        var samples = LatencySamples()
        /// Stamped events received, in or out of the window.
        var stamped = 0
        var lastSeq: Int?
        var failures: [String] = []
    }

    /// Whether frames carry Herald's `seq`, which must rise by one per frame.
    let checksSeq: Bool
    private let state = Mutex(State())

    init(checksSeq: Bool) {
        self.checksSeq = checksSeq
    }

    /// Called on the socket's reading task with the frame and when it arrived. A Redis channel message holds
    /// several frames (one per line), so every stamp in `buffer` counts.
    func received(_ buffer: ByteBuffer, at receivedAt: Double) {
        buffer.withUnsafeReadableBytes { bytes in
            let seq = checksSeq ? FrameScanner.seq(bytes) : nil
            state.withLock { state in
                if checksSeq, let seq {
                    if let last = state.lastSeq, seq != last + 1 {
                        state.failures.append("seq \(seq) after \(last)")
                    }
                    state.lastSeq = seq
                }
                EmitStamp.forEach(in: bytes) { emittedAt in
                    state.stamped += 1
                    if state.window.contains(emittedAt) {
                        state.samples.add((receivedAt - emittedAt) * 1_000)
                    }
                }
            }
        }
    }

    func fail(_ reason: String) {
        state.withLock { $0.failures.append(reason) }
    }

    func setWindow(_ window: PathWindow) {
        state.withLock { $0.window = window }
    }

    var stamped: Int { state.withLock { $0.stamped } }

    /// The samples and failures so far, and a fresh start for the next round.
    func take() -> (samples: LatencySamples, stamped: Int, failures: [String]) {
        state.withLock { state in
            let taken = (state.samples, state.stamped, state.failures)
            state.samples = LatencySamples()
            state.stamped = 0
            state.failures = []
            state.window = .never
            return taken
        }
    }
}
