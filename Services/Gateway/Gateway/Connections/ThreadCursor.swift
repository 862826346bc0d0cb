/// How far one thread's log has been sent to one connection, and the live frames waiting meanwhile.
struct ThreadCursor: Sendable {
    /// A client's `resume` that a catch-up pass has yet to answer.
    struct PendingResume: Sendable, Equatable {
        var afterSeq: Int
        var epoch: String?
    }

    /// The epoch `lastSeq` counts in; nil until known.
    var epoch: String?
    /// The highest `seq` sent (or, for a new watch, the log's position when it started).
    var lastSeq = 0
    /// Reasons live frames must wait (a catch-up or a run submission in progress); they go out at zero.
    var holds = 0
    /// Live frames that arrived while held, in arrival order.
    var held: [ThreadFrame] = []
    var catchUpRunning = false
    /// Another catch-up pass is wanted (a gap was seen, the feed lost frames, or a resume came in).
    var catchUpRequested = false
    var pendingResume: PendingResume?

    /// What to do with a live frame once nothing holds the thread.
    enum Verdict: Equatable {
        case send
        case duplicate
        /// A frame is missing before this one (or the log's epoch changed mid-way): fill from history.
        case gap
    }

    func verdict(for frame: ThreadFrame) -> Verdict {
        if let epoch, epoch != frame.epoch {
            // A new epoch starts counting from 1; anything else means frames of it were missed.
            return frame.seq == 1 ? .send : .gap
        }
        if frame.seq <= lastSeq { return .duplicate }
        return frame.seq == lastSeq + 1 ? .send : .gap
    }
}
