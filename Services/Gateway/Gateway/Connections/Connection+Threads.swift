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
        cursors[threadID]?.hold()
        return created
    }

    /// Ends a hold. `position` places a new watch in the log; `reply` goes out before any held frame.
    func release(_ threadID: String, position: (lastSeq: Int, epoch: String?)?, reply: ServerMessage?) {
        if let reply { send(reply) }
        guard cursors[threadID] != nil else { return }
        cursors[threadID]?.release(position: position)
        drainHeld(threadID)
    }

    /// Stops watching a thread this connection had only started to watch (refused or failed).
    func forget(_ threadID: String) {
        guard let cursor = cursors.removeValue(forKey: threadID) else { return }
        heldBytesChanged(by: -cursor.held.byteCount)
    }

    /// A live frame from the thread's feed, handed over without waiting: the feed runs on the pub/sub connection's
    /// event loop and offers each frame to every watcher in turn.
    nonisolated func offer(_ frame: ThreadFrame, threadID: String) {
        if liveInbox.withLock({ $0.offer(frame, threadID: threadID) }) {
            onLoop { $0.drainLiveInbox() }
        }
    }

    /// Takes what the feeds offered, in order, until nothing waits.
    private func drainLiveInbox() {
        while let taken = liveInbox.withLock({ $0.take() }) {
            switch taken {
            case .overflowed:
                closeAsSlowConsumer()
            case .frames(let frames):
                for (threadID, frame) in frames where !isClosing {
                    receive(frame, threadID)
                }
            }
        }
    }

    private func receive(_ frame: ThreadFrame, _ threadID: String) {
        switch cursors[threadID]?.receive(frame) {
        case nil, .duplicate:
            break
        case .send:
            enqueue(.text(frame.text, isEvent: true, emittedAt: frame.emittedAt))
        case .held:
            heldBytesChanged(by: frame.byteCount)
        case .gap:
            heldBytesChanged(by: frame.byteCount)
            requestCatchUp(threadID)
        }
    }

    /// Sends what waited while the thread was held, holding again from where a gap starts a catch-up.
    private func drainHeld(_ threadID: String) {
        guard let frames = cursors[threadID]?.takeReleasedFrames(), !frames.isEmpty else { return }
        heldBytesChanged(by: -frames.byteCount)
        for frame in frames {
            guard !isClosing else { return }
            receive(frame, threadID)
        }
    }

    // MARK: Catch-up

    /// Fills this connection's view of the thread from history (the feed lost frames or a gap showed).
    func requestCatchUp(_ threadID: String) {
        guard !isClosing, cursors[threadID]?.requestCatchUp() == true else { return }
        // A task of its own: the passes await history and the client's pace, while live frames keep arriving here.
        Task { await self.runCatchUp(threadID) }
    }

    /// Registers a client's `resume`. Returns whether the thread was newly watched and whether the
    /// caller must run the catch-up (else one is running and answers this resume when its pass ends).
    func beginResume(_ threadID: String, afterSeq: Int, epoch: String?) -> (created: Bool, mustRun: Bool) {
        let created = cursors[threadID] == nil
        if created {
            cursors[threadID] = ThreadCursor()
        }
        let mustRun = cursors[threadID]?.requestResume(afterSeq: afterSeq, epoch: epoch) ?? false
        return (created, mustRun)
    }

    /// Catch-up passes until none is wanted: each reads history after the cursor (atomically with the
    /// log's position), sends what is missing, then the frames held meanwhile go out without duplicates.
    func runCatchUp(_ threadID: String) async {
        var failures = 0
        while !isClosing, let pass = cursors[threadID]?.startPass() {
            metrics.catchUps.increment()
            let snapshot: HistorySnapshot
            do {
                snapshot = try await history.read(threadID, afterSeq: pass.afterSeq, epoch: pass.epoch)
                failures = 0
            } catch {
                failures += 1
                logger.warning("cannot read thread history", metadata: ["thread": "\(threadID)", "error": "\(error)"])
                if pass.answering {
                    send(.error(ProtocolError(.internal, "cannot read the thread's history now; resume again", ref: threadID)))
                }
                guard cursors[threadID] != nil else { return }
                // Try again after a pause; live frames keep waiting meanwhile.
                cursors[threadID]?.passFailed()
                try? await Task.sleep(for: .milliseconds(min(10_000, 250 << min(failures, 6))))
                continue
            }
            await replay(snapshot, threadID, afterSeq: pass.afterSeq, answering: pass.answering)
        }
        guard cursors[threadID] != nil else { return }
        cursors[threadID]?.catchUpEnded()
        drainHeld(threadID)
    }

    private func replay(_ snapshot: HistorySnapshot, _ threadID: String, afterSeq: Int, answering isResume: Bool) async {
        let recovered = snapshot.isRecovered(afterSeq: afterSeq)
        if snapshot.reset {
            // The position belonged to another epoch: start over in the current one.
            cursors[threadID]?.restart(inEpoch: snapshot.epoch.isEmpty ? nil : snapshot.epoch)
        }
        var replayed = 0
        for frame in snapshot.frames {
            await waitForRoom()
            guard !isClosing, cursors[threadID] != nil else { return }
            guard cursors[threadID]?.replay(frame) == true else { continue }
            enqueue(.text(frame.text, isEvent: true, emittedAt: nil))
            replayed += 1
        }
        guard cursors[threadID] != nil else { return }
        cursors[threadID]?.replayEnded(epoch: snapshot.epoch, lastSeq: snapshot.lastSeq)
        // A resume is always answered; a catch-up of our own speaks up only when the gap could not be filled.
        if isResume || !recovered {
            let resumed = ServerMessage.Resumed(
                threadID: threadID,
                epoch: snapshot.epoch,
                recovered: recovered,
                replayed: replayed,
                lastSeq: snapshot.lastSeq
            )
            send(.resumed(resumed))
        }
        if !recovered {
            logger.info(
                "resume could not fill the gap from history",
                metadata: ["thread": "\(threadID)", "after_seq": "\(afterSeq)", "last_seq": "\(snapshot.lastSeq)"]
            )
        }
    }
}

extension Collection where Element == ThreadFrame {
    var byteCount: Int { reduce(0) { $0 + $1.byteCount } }
}
