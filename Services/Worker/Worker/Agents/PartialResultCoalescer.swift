/// Decides when an agent's streamed text goes out as `partial_result` events (`HERALD_STREAM_COALESCE_MS`).
///
/// A real model sends one delta per token; an event per token costs every hop (Redis, the relay's script, each
/// socket) per token and fills the thread's history with fragments. So the first delta of an answer goes out at
/// once (the time to first token stays what the model gives), and after that at most one event per `interval`
/// carries whatever arrived meanwhile. Whoever drives it arms a timer at the `deadline` a held delta returns and
/// calls `due(at:)` when it fires; a tool call or the end of the answer calls `flush()` first.
///
/// Pure state: the driver owns the clock, so the rules are tested without sleeping.
struct PartialResultCoalescer: Sendable {
    /// What to do with a delta that just arrived.
    enum Arrival: Sendable, Equatable {
        /// Emit this text now.
        case emit(String)
        /// Held with earlier held text; when it starts a held batch, the instant the batch is due (arm a timer).
        case held(dueAt: ContinuousClock.Instant?)
    }

    /// The least time between two events; zero emits every delta at once.
    let interval: Duration
    /// Text received and not yet emitted.
    private(set) var pending = ""
    private var lastEmit: ContinuousClock.Instant?

    init(interval: Duration) {
        self.interval = max(.zero, interval)
    }

    /// When the held text is due: `interval` after the last event; nil when nothing is held.
    var deadline: ContinuousClock.Instant? {
        guard !pending.isEmpty, let lastEmit else { return nil }
        return lastEmit + interval
    }

    mutating func receive(_ delta: String, at now: ContinuousClock.Instant) -> Arrival {
        guard !delta.isEmpty else { return .held(dueAt: nil) }
        if pending.isEmpty, lastEmit.map({ now - $0 >= interval }) ?? true {
            lastEmit = now
            return .emit(delta)
        }
        let startsBatch = pending.isEmpty
        pending += delta
        return .held(dueAt: startsBatch ? deadline : nil)
    }

    /// The held text when its time has come (a timer armed for an earlier batch may fire early: nil then).
    mutating func due(at now: ContinuousClock.Instant) -> String? {
        guard let deadline, now >= deadline else { return nil }
        return take(at: now)
    }

    /// Whatever is held, at once: before a tool call, at the end of the answer, or when the model fails.
    mutating func flush(at now: ContinuousClock.Instant) -> String? {
        pending.isEmpty ? nil : take(at: now)
    }

    private mutating func take(at now: ContinuousClock.Instant) -> String {
        defer { pending = "" }
        lastEmit = now
        return pending
    }
}
