/// How far one thread's log has been sent to one connection, and the live frames waiting meanwhile: the
/// decisions of per-thread delivery, without the connection. `Connection` does what each event returns
/// (queues a frame, counts held bytes, starts a catch-up pass).
struct ThreadCursor: Sendable {
    /// A client's `resume` that a catch-up pass has yet to answer.
    struct PendingResume: Sendable, Equatable {
        var afterSeq: Int
        var epoch: String?
    }

    /// Filling the connection's view of the thread from history.
    enum CatchUp: Sendable, Equatable {
        case idle
        /// Passes run (one task at a time). `passWanted` when another pass must follow (a gap was seen, the feed
        /// lost frames, or a resume came in); `resume` is the client's resume the next pass answers.
        case running(passWanted: Bool, resume: PendingResume?)
    }

    /// What to do with a live frame.
    enum Delivery: Equatable {
        /// Next in the log: queue it (the cursor moved past it).
        case send
        case duplicate
        /// The thread is held: the frame waits in `held`.
        case held
        /// A frame is missing before this one (or the log's epoch changed mid-way): the frame waits in `held`,
        /// and history must fill the gap.
        case gap
    }

    /// One catch-up pass: history after `afterSeq` in `epoch`; `answering` when it answers a client's resume.
    struct Pass: Equatable {
        var afterSeq: Int
        var epoch: String?
        var answering: Bool
    }

    /// The epoch `lastSeq` counts in; nil until known.
    private(set) var epoch: String?
    /// The highest `seq` sent (or, for a new watch, the log's position when it started).
    private(set) var lastSeq = 0
    /// Run submissions in progress on this connection for the thread; each holds live frames back.
    private(set) var submissionHolds = 0
    private(set) var catchUp = CatchUp.idle
    /// Live frames that arrived while held, in arrival order.
    private(set) var held: [ThreadFrame] = []

    /// Live frames wait while a catch-up or a run submission is in progress.
    var isHeld: Bool { submissionHolds > 0 || catchUp != .idle }

    // MARK: Live frames

    mutating func receive(_ frame: ThreadFrame) -> Delivery {
        if isHeld {
            held.append(frame)
            return .held
        }
        switch verdict(for: frame) {
        case .send:
            lastSeq = frame.seq
            epoch = frame.epoch
            return .send
        case .duplicate:
            return .duplicate
        case .gap:
            held.append(frame)
            return .gap
        }
    }

    /// What to do with a live frame once nothing holds the thread.
    enum Verdict: Equatable {
        case send
        case duplicate
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

    /// The frames that waited, once nothing holds the thread any more; they leave the cursor, to be received again in order.
    mutating func takeReleasedFrames() -> [ThreadFrame] {
        guard !isHeld, !held.isEmpty else { return [] }
        defer { held = [] }
        return held
    }

    /// Drops what waits (the connection closes as a slow consumer); returns it, for the byte count.
    mutating func dropHeld() -> [ThreadFrame] {
        defer { held = [] }
        return held
    }

    // MARK: Run submissions

    /// A run submission starts: live frames wait until `release`.
    mutating func hold() {
        submissionHolds += 1
    }

    /// A run submission ended; `position` places a new watch in the log.
    mutating func release(position: (lastSeq: Int, epoch: String?)?) {
        precondition(submissionHolds > 0, "a thread was released more often than held")
        if let position {
            lastSeq = position.lastSeq
            epoch = position.epoch
        }
        submissionHolds -= 1
    }

    // MARK: Catch-up

    /// A gap must be filled from history. True when no pass runs and the caller must start them.
    mutating func requestCatchUp() -> Bool {
        switch catchUp {
        case .idle:
            catchUp = .running(passWanted: true, resume: nil)
            return true
        case .running(_, let resume):
            catchUp = .running(passWanted: true, resume: resume)
            return false
        }
    }

    /// A client's `resume`: the next pass starts from `afterSeq` and answers it. True when no pass runs and the
    /// caller must start them (else the running one answers it when its pass ends).
    mutating func requestResume(afterSeq: Int, epoch: String?) -> Bool {
        let resume = PendingResume(afterSeq: afterSeq, epoch: epoch)
        let mustRun = catchUp == .idle
        catchUp = .running(passWanted: true, resume: resume)
        return mustRun
    }

    /// The next pass, if one is wanted; a resume moves the cursor to its position first.
    mutating func startPass() -> Pass? {
        guard case .running(true, let resume) = catchUp else { return nil }
        catchUp = .running(passWanted: false, resume: nil)
        if let resume {
            lastSeq = resume.afterSeq
            epoch = resume.epoch
            return Pass(afterSeq: resume.afterSeq, epoch: resume.epoch, answering: true)
        }
        return Pass(afterSeq: lastSeq, epoch: epoch, answering: false)
    }

    /// History could not be read: another pass follows, after a pause.
    mutating func passFailed() {
        guard case .running(_, let resume) = catchUp else { return }
        catchUp = .running(passWanted: true, resume: resume)
    }

    /// The passes ended (none is wanted, or the connection is closing): live frames flow again unless a submission holds them.
    mutating func catchUpEnded() {
        catchUp = .idle
    }

    /// History's position belongs to another epoch: the cursor starts over in `epoch`.
    mutating func restart(inEpoch epoch: String?) {
        lastSeq = 0
        self.epoch = epoch
    }

    /// A frame from history; true when it is past the cursor and must be sent (the cursor moved past it).
    mutating func replay(_ frame: ThreadFrame) -> Bool {
        guard frame.seq > lastSeq else { return false }
        lastSeq = frame.seq
        epoch = frame.epoch
        return true
    }

    /// A pass sent what history had: the cursor is at the log's position as history read it.
    mutating func replayEnded(epoch historyEpoch: String, lastSeq historyLastSeq: Int) {
        if !historyEpoch.isEmpty {
            epoch = historyEpoch
        }
        lastSeq = max(lastSeq, historyLastSeq)
    }
}
