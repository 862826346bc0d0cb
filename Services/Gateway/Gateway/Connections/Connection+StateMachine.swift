extension Connection {
    /// The outbound side of a connection, without its transport: the bounded queue, the batch on its way to the
    /// socket, and closing. Each event returns what `Connection` must do (write a batch, close as a slow consumer).
    ///
    /// Queued frames and live frames held back during a catch-up are both memory a consumer that does not read
    /// makes the gateway keep: together they are bounded by `queueLimit`.
    struct StateMachine {
        /// Where the connection is in its life.
        enum State: Equatable {
            case open
            /// A close frame is queued (or sent): nothing more is queued.
            case closing(CloseCause)
            /// The socket's inbound side ended (the client closed, or the socket is gone): nothing more is written.
            case ended(CloseCause?)
        }

        /// The transport's side: at most one batch on its way to the socket.
        enum Writer: Equatable {
            case idle
            /// A batch of `bytes` is written and the socket has not taken all of it yet.
            case writing(bytes: Int)
        }

        /// What queuing a frame asks for.
        enum EnqueueAction: Equatable {
            case none
            case write([Outgoing])
            /// The queue is full: the connection closes as a slow consumer (`overflowed`).
            case overflow
        }

        /// What starting to close asks for.
        enum CloseAction: Equatable {
            /// Closing already (or ended).
            case none
            /// Write `batch` when one is ready (else the close frame follows the batch on its way), wake who waits
            /// for room, and arm the close timeout.
            case closing(write: [Outgoing]?)
        }

        let queueLimit: Int
        private(set) var state = State.open
        private(set) var writer = Writer.idle
        private(set) var queue: [Outgoing] = []
        private(set) var queuedBytes = 0
        private(set) var heldBytes = 0

        init(queueLimit: Int) {
            self.queueLimit = queueLimit
        }

        /// True once a close has started (or the peer went away): nothing more is queued.
        var isClosing: Bool { state != .open }

        var closeCause: CloseCause? {
            switch state {
            case .open: nil
            case .closing(let cause): cause
            case .ended(let cause): cause
            }
        }

        /// Whether a replay may queue more: what the socket has not taken yet is at most half the queue limit
        /// (or the connection is closing, so nothing waits).
        var hasRoom: Bool {
            guard !isClosing else { return true }
            let inFlight = if case .writing(let bytes) = writer { bytes } else { 0 }
            return queuedBytes + inFlight <= queueLimit / 2
        }

        /// Queues a frame, unless the queue is full.
        mutating func enqueue(_ item: Outgoing) -> EnqueueAction {
            guard !isClosing else { return .none }
            let size = item.byteCount
            // A frame always fits into an empty queue, so one large frame cannot count as slowness.
            let buffered = queuedBytes + heldBytes
            if buffered > 0, buffered + size > queueLimit {
                return .overflow
            }
            queue.append(item)
            queuedBytes += size
            return nextBatch().map(EnqueueAction.write) ?? .none
        }

        /// Live frames held back (or released) during a catch-up; true when that overflowed the queue.
        mutating func heldBytesChanged(by delta: Int) -> Bool {
            heldBytes += delta
            return delta > 0 && queuedBytes + heldBytes > queueLimit && !isClosing
        }

        /// The socket took the batch, or `failed` to (it is closing or gone, and what is queued would fail too).
        /// Returns the next batch to write, if any; whoever waits for room may look again either way.
        mutating func batchWritten(failed: Bool) -> [Outgoing]? {
            writer = .idle
            if failed {
                dropQueue()
                return nil
            }
            return nextBatch()
        }

        /// Starts closing: frames already queued go out, then a close frame with `code`.
        mutating func close(code: UInt16, reason: String) -> CloseAction {
            guard !isClosing else { return .none }
            state = .closing(CloseCause(code: code, reason: reason))
            let closeFrame = Outgoing.close(code: code, reason: reason)
            queue.append(closeFrame)
            queuedBytes += closeFrame.byteCount
            return .closing(write: nextBatch())
        }

        /// The queue overflowed: what is queued is dropped (the client resumes from history). The connection then
        /// closes with 4008, and the cursors drop their held frames.
        mutating func overflowed() {
            dropQueue()
            heldBytes = 0
        }

        /// The socket's inbound side ended: nothing more goes out.
        mutating func inboundEnded() {
            state = .ended(closeCause)
            dropQueue()
        }

        private mutating func dropQueue() {
            queue.removeAll()
            queuedBytes = 0
        }

        /// What is queued, as one batch, unless a batch is still on its way (then it follows that one).
        private mutating func nextBatch() -> [Outgoing]? {
            guard writer == .idle, !queue.isEmpty else { return nil }
            if case .ended = state { return nil }
            // Every frame in the queue is counted in `queuedBytes` as it is queued, so the batch takes them all.
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            writer = .writing(bytes: queuedBytes)
            queuedBytes = 0
            return batch
        }
    }
}
