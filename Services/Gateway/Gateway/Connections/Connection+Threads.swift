import HeraldProtocol

/// Per-thread delivery: live frames in `seq` order without duplicates, held back while a catch-up
/// from history or a run submission sets the position, and gaps filled from history.
extension Connection {
    /// Whether the connection may watch the thread: it already does, or it watches fewer than its limit.
    /// Only the reader adds watches, one message at a time, so the answer holds until it acts on it.
    func canWatch(_ threadID: String) -> Bool {
        cursors[threadID] != nil || cursors.count < threadLimit
    }

    /// Holds the thread's live frames until `release`; starts watching it (position unknown) if this
    /// connection did not. Returns whether the watch is new.
    func hold(_ threadID: String) -> Bool {
        let created = cursors[threadID] == nil
        if created {
            cursors[threadID] = ThreadCursor()
        }
        cursors[threadID]?.holds += 1
        return created
    }

    /// Ends a hold. `position` places a new watch in the log; `reply` goes out before any held frame.
    func release(_ threadID: String, position: (lastSeq: Int, epoch: String?)?, reply: ServerMessage?) {
        if let reply { send(reply) }
        guard cursors[threadID] != nil else { return }
        if let position {
            cursors[threadID]?.lastSeq = position.lastSeq
            cursors[threadID]?.epoch = position.epoch
        }
        cursors[threadID]?.holds -= 1
        drainHeld(threadID)
    }

    /// Stops watching a thread this connection had only started to watch (refused or failed).
    func forget(_ threadID: String) {
        guard let cursor = cursors.removeValue(forKey: threadID) else { return }
        heldBytesChanged(by: -cursor.held.byteCount)
    }

    /// A live frame from the thread's feed.
    func deliver(_ frame: ThreadFrame, threadID: String) {
        guard !isClosing, let cursor = cursors[threadID] else { return }
        if cursor.holds > 0 {
            cursors[threadID]?.held.append(frame)
            heldBytesChanged(by: frame.byteCount)
            return
        }
        apply(frame, threadID)
    }

    private func apply(_ frame: ThreadFrame, _ threadID: String) {
        guard let cursor = cursors[threadID] else { return }
        switch cursor.verdict(for: frame) {
        case .send:
            cursors[threadID]?.lastSeq = frame.seq
            cursors[threadID]?.epoch = frame.epoch
            enqueue(.text(frame.text, isEvent: true, emittedAt: frame.emittedAt))
        case .duplicate:
            break
        case .gap:
            cursors[threadID]?.held.append(frame)
            heldBytesChanged(by: frame.byteCount)
            requestCatchUp(threadID)
        }
    }

    /// Sends what waited while the thread was held, stopping again if a gap starts a catch-up.
    private func drainHeld(_ threadID: String) {
        guard let cursor = cursors[threadID], cursor.holds == 0, !cursor.held.isEmpty else { return }
        let frames = cursor.held
        cursors[threadID]?.held = []
        heldBytesChanged(by: -frames.byteCount)
        for index in frames.indices {
            guard let current = cursors[threadID], !isClosing else { return }
            if current.holds > 0 {
                let rest = frames[index...]
                cursors[threadID]?.held.append(contentsOf: rest)
                heldBytesChanged(by: rest.byteCount)
                return
            }
            apply(frames[index], threadID)
        }
    }

    // MARK: Catch-up

    /// Fills this connection's view of the thread from history (the feed lost frames or a gap showed).
    func requestCatchUp(_ threadID: String) {
        guard !isClosing, cursors[threadID] != nil else { return }
        cursors[threadID]?.catchUpRequested = true
        guard cursors[threadID]?.catchUpRunning == false else { return }
        cursors[threadID]?.catchUpRunning = true
        cursors[threadID]?.holds += 1
        Task { await self.runCatchUp(threadID) }
    }

    /// Registers a client's `resume`. Returns whether the thread was newly watched and whether the
    /// caller must run the catch-up (else one is running and answers this resume when its pass ends).
    func beginResume(_ threadID: String, afterSeq: Int, epoch: String?) -> (created: Bool, mustRun: Bool) {
        let created = cursors[threadID] == nil
        if created {
            cursors[threadID] = ThreadCursor()
        }
        cursors[threadID]?.pendingResume = .init(afterSeq: afterSeq, epoch: epoch)
        cursors[threadID]?.catchUpRequested = true
        if cursors[threadID]?.catchUpRunning == true {
            return (created, false)
        }
        cursors[threadID]?.catchUpRunning = true
        cursors[threadID]?.holds += 1
        return (created, true)
    }

    /// Catch-up passes until none is wanted: each reads history after the cursor (atomically with the
    /// log's position), sends what is missing, then the frames held meanwhile go out without duplicates.
    func runCatchUp(_ threadID: String) async {
        var failures = 0
        while !isClosing, let cursor = cursors[threadID], cursor.catchUpRequested {
            let resume = cursor.pendingResume
            cursors[threadID]?.catchUpRequested = false
            cursors[threadID]?.pendingResume = nil
            if let resume {
                cursors[threadID]?.lastSeq = resume.afterSeq
                cursors[threadID]?.epoch = resume.epoch
            }
            let afterSeq = resume?.afterSeq ?? cursor.lastSeq
            let epoch = resume == nil ? cursor.epoch : resume?.epoch
            metrics.catchUps.increment()
            let snapshot: HistorySnapshot
            do {
                snapshot = try await history.read(threadID, afterSeq: afterSeq, epoch: epoch)
                failures = 0
            } catch {
                failures += 1
                logger.warning("cannot read thread history", metadata: ["thread": "\(threadID)", "error": "\(error)"])
                if resume != nil {
                    send(.error(ProtocolError(.internal, "cannot read the thread's history now; resume again", ref: threadID)))
                }
                guard cursors[threadID] != nil else { return }
                // Try again after a pause; live frames keep waiting meanwhile.
                cursors[threadID]?.catchUpRequested = true
                try? await Task.sleep(for: .milliseconds(min(10_000, 250 << min(failures, 6))))
                continue
            }
            await replay(snapshot, threadID, afterSeq: afterSeq, answering: resume != nil)
        }
        guard cursors[threadID] != nil else { return }
        cursors[threadID]?.catchUpRunning = false
        cursors[threadID]?.holds -= 1
        drainHeld(threadID)
    }

    private func replay(_ snapshot: HistorySnapshot, _ threadID: String, afterSeq: Int, answering isResume: Bool) async {
        let recovered = snapshot.isRecovered(afterSeq: afterSeq)
        if snapshot.reset {
            // The position belonged to another epoch: start over in the current one.
            cursors[threadID]?.lastSeq = 0
            cursors[threadID]?.epoch = snapshot.epoch.isEmpty ? nil : snapshot.epoch
        }
        var replayed = 0
        for frame in snapshot.frames {
            await waitForRoom()
            guard !isClosing, let cursor = cursors[threadID] else { return }
            guard frame.seq > cursor.lastSeq else { continue }
            enqueue(.text(frame.text, isEvent: true, emittedAt: nil))
            cursors[threadID]?.lastSeq = frame.seq
            cursors[threadID]?.epoch = frame.epoch
            replayed += 1
        }
        guard let cursor = cursors[threadID] else { return }
        if !snapshot.epoch.isEmpty {
            cursors[threadID]?.epoch = snapshot.epoch
        }
        cursors[threadID]?.lastSeq = max(cursor.lastSeq, snapshot.lastSeq)
        // A resume is always answered; a catch-up of our own speaks up only when the gap could not be filled.
        if isResume || !recovered {
            let resumed = ServerMessage.Resumed(threadID: threadID, epoch: snapshot.epoch, recovered: recovered, replayed: replayed, lastSeq: snapshot.lastSeq)
            send(.resumed(resumed))
        }
        if !recovered {
            logger.info("resume could not fill the gap from history", metadata: ["thread": "\(threadID)", "after_seq": "\(afterSeq)", "last_seq": "\(snapshot.lastSeq)"])
        }
    }
}

extension Collection where Element == ThreadFrame {
    var byteCount: Int { reduce(0) { $0 + $1.byteCount } }
}
