/// Live frames the thread feeds handed to a `Connection` that its actor has not taken yet.
///
/// A feed offers each frame to every watcher without waiting (on the pub/sub connection's event loop), so one slow
/// watcher holds up no other and the feed never awaits a connection; order is kept per connection, and one drain at a
/// time takes what waits. Bounded in bytes like the outbound queue: a connection whose actor cannot keep up drops
/// what waits and closes as a slow consumer (the client resumes from history).
struct ConnectionLiveInbox: Sendable {
    /// What a drain takes.
    enum Taken: Sendable {
        /// Frames in the order they were offered, each with its thread.
        case frames([(threadID: String, frame: ThreadFrame)])
        /// The inbox overflowed: the connection must close as a slow consumer. Nothing is taken after it.
        case overflowed
    }

    /// Most bytes that may wait (the connection's `HERALD_OUTBOUND_QUEUE_BYTES`).
    let limit: Int
    private var frames: [(threadID: String, frame: ThreadFrame)] = []
    private(set) var bytes = 0
    private var draining = false
    private var overflow = Overflow.none

    private enum Overflow {
        case none
        /// Overflowed; the drain has not yet been told.
        case pending
        /// Told: from now on every offer is dropped.
        case reported
    }

    init(limit: Int) {
        self.limit = limit
    }

    /// Adds a frame; true when no drain runs and the caller must start one.
    mutating func offer(_ frame: ThreadFrame, threadID: String) -> Bool {
        switch overflow {
        case .reported:
            return false
        case .pending:
            break
        case .none:
            // A frame always fits into an empty inbox, so one large frame cannot count as slowness.
            if bytes > 0, bytes + frame.byteCount > limit {
                frames.removeAll()
                bytes = 0
                overflow = .pending
            } else {
                frames.append((threadID, frame))
                bytes += frame.byteCount
            }
        }
        guard !draining else { return false }
        draining = true
        return true
    }

    /// What waits; nil when nothing does, which ends the drain.
    mutating func take() -> Taken? {
        if case .pending = overflow {
            overflow = .reported
            return .overflowed
        }
        guard !frames.isEmpty else {
            draining = false
            return nil
        }
        defer {
            frames = []
            bytes = 0
        }
        return .frames(frames)
    }
}
