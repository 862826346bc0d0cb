import Foundation
import HeraldProtocol
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// One client's stream of frames (a WebSocket, or an SSE response): its bounded outbound queue and, for each
/// thread it watches, how far that thread's log has been sent to it.
///
/// Everything that reaches the socket passes through here, in order: replies, live frames from
/// the thread feeds and frames replayed from history. The queue goes onto the socket a batch at a
/// time, through its transport; the next batch waits until the socket took the last.
///
/// It runs on its socket's event loop, so a frame goes from the feed's hand-over to the socket with one wake-up of
/// that loop and none of the global executor; its work per frame is small and never blocks.
actor Connection {
    /// What is sent next.
    enum Outgoing: Sendable, Equatable {
        /// A text frame; `emittedAt` is set for live events, for the latency metric.
        case text(ByteBuffer, isEvent: Bool, emittedAt: Date?)
        /// A close frame; nothing follows it.
        case close(code: UInt16, reason: String)
    }

    /// Why the connection is closing, for the log line.
    struct CloseCause: Sendable, Equatable, CustomStringConvertible {
        var code: UInt16
        var reason: String
        var description: String { "\(code) \(reason)" }
    }

    nonisolated let id: String
    nonisolated let identity: ConnectionIdentity
    let history: ThreadHistory
    let metrics: GatewayMetrics
    let logger: Logger
    private nonisolated let transport: any ConnectionTransport
    private let closeTimeout: Duration
    /// Most threads this connection may watch (`HERALD_MAX_THREADS_PER_CONNECTION`).
    let threadLimit: Int

    private var machine: StateMachine
    private var roomWaiters: [CheckedContinuation<Void, Never>] = []
    // Timers on the socket's event loop rather than sleeping tasks: an idle connection then keeps no task
    // alive for its token's lifetime (30 days for a guest), and a scheduled closure costs a fraction of a task's stack.
    private var forceClose: Scheduled<Void>?
    private var expiry: Scheduled<Void>?

    /// Per watched thread: what was sent and what waits.
    var cursors: [String: ThreadCursor] = [:]
    /// Live frames the thread feeds offered, not yet taken by this actor. Inline, not boxed: every idle connection
    /// carries it.
    nonisolated let liveInbox: Mutex<ConnectionLiveInbox>

    init(
        id: String,
        identity: ConnectionIdentity,
        transport: any ConnectionTransport,
        history: ThreadHistory,
        queueLimit: Int,
        closeTimeout: Duration,
        threadLimit: Int,
        metrics: GatewayMetrics,
        logger: Logger
    ) {
        self.id = id
        self.identity = identity
        self.transport = transport
        self.history = history
        self.machine = StateMachine(queueLimit: queueLimit)
        self.liveInbox = Mutex(ConnectionLiveInbox(limit: queueLimit))
        self.closeTimeout = closeTimeout
        self.threadLimit = threadLimit
        self.metrics = metrics
        self.logger = logger
    }

    /// The socket's event loop.
    nonisolated var unownedExecutor: UnownedSerialExecutor {
        transport.eventLoop.executor.asUnownedSerialExecutor()
    }

    /// Runs `body` on this actor from anywhere, as the next job of the socket's event loop: no task, and never
    /// inside whatever called it (a transport may complete a write while it is being asked for one).
    nonisolated func onLoop(_ body: @escaping @Sendable (isolated Connection) -> Void) {
        transport.eventLoop.execute {
            self.assumeIsolated { body($0) }
        }
    }

    /// True once a close has started (or the peer went away): nothing more is queued.
    var isClosing: Bool { machine.isClosing }

    /// Why the connection is closing, once it is.
    var closeCause: CloseCause? { machine.closeCause }

    // MARK: Sending

    /// Queues a reply.
    func send(_ message: ServerMessage) {
        if case .error(let error) = message {
            metrics.recordError(error.code)
        }
        enqueue(.text(ByteBuffer(string: message.encoded()), isEvent: false, emittedAt: nil))
    }

    /// Queues a frame, or closes the connection as a slow consumer when its queue is full.
    func enqueue(_ item: Outgoing) {
        switch machine.enqueue(item) {
        case .none:
            break
        case .write(let batch):
            write(batch)
        case .overflow:
            closeAsSlowConsumer()
        }
    }

    /// Waits until what the socket has not yet taken is below half the queue limit, so a long replay
    /// from history flows at the client's pace instead of overflowing the queue.
    func waitForRoom() async {
        while !machine.hasRoom {
            await withCheckedContinuation { roomWaiters.append($0) }
        }
    }

    /// Accounts for live frames held back (or released) during a catch-up.
    func heldBytesChanged(by delta: Int) {
        if machine.heldBytesChanged(by: delta) {
            closeAsSlowConsumer()
        }
    }

    private func write(_ batch: [Outgoing]) {
        for case .text(_, true, let emittedAt) in batch {
            metrics.framesSent.increment()
            if let emittedAt { metrics.recordLatency(since: emittedAt) }
        }
        // The socket took the batch (or the connection is gone): the next may follow.
        transport.write(batch).whenComplete { [weak self] result in
            guard let self else { return }
            let failed = (try? result.get()) == nil
            self.onLoop { $0.batchWritten(failed: failed) }
        }
    }

    private func batchWritten(failed: Bool) {
        let next = machine.batchWritten(failed: failed)
        resumeRoomWaiters()
        if let next { write(next) }
    }

    private func resumeRoomWaiters() {
        let waiters = roomWaiters
        roomWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Closing

    /// Starts closing: frames already queued go out, then a close frame with `code`. If the client does
    /// not answer within the close timeout, the socket is dropped.
    func close(code: UInt16, reason: String) {
        guard case .closing(let batch) = machine.close(code: code, reason: reason) else { return }
        if let batch { write(batch) }
        resumeRoomWaiters()
        armForceClose()
    }

    /// The queue overflowed: what is queued is dropped (the client resumes from history) and the socket closes with 4008.
    func closeAsSlowConsumer() {
        machine.overflowed()
        for thread in cursors.keys {
            _ = cursors[thread]?.dropHeld()
        }
        metrics.slowConsumerDisconnects.increment()
        logger.notice("slow consumer: outbound queue overflowed", metadata: ["limit_bytes": "\(machine.queueLimit)"])
        close(code: HeraldCloseCode.slowConsumer, reason: "slow consumer: outbound queue overflowed; resume")
    }

    /// Closes with 4401 when the token expires, if the connection lives that long.
    func closeWhenTokenExpires() {
        guard let expiresAt = identity.expiresAt else { return }
        let delay = max(0, expiresAt.timeIntervalSinceNow)
        // Beyond NIO's range of deadlines (and any socket's life): no timer at all.
        guard delay < Self.longestTimerSeconds else { return }
        expiry = transport.eventLoop.scheduleTask(in: .nanoseconds(Int64(delay * 1_000_000_000))) { [weak self] in
            guard let self else { return }
            Task { await self.close(code: HeraldCloseCode.tokenExpired, reason: "token expired") }
        }
    }

    /// About 31 years: far longer than any connection, far shorter than NIO's deadlines can hold.
    private static let longestTimerSeconds: Double = 1_000_000_000

    private func armForceClose() {
        let transport = self.transport
        // A client that neither reads nor answers the close must not hold the socket forever.
        forceClose = transport.eventLoop.scheduleTask(in: TimeAmount(closeTimeout)) {
            transport.abort()
        }
    }

    /// The socket's inbound side ended (the client closed, or the socket is gone): stop everything.
    func inboundEnded() {
        machine.inboundEnded()
        forceClose?.cancel()
        expiry?.cancel()
        resumeRoomWaiters()
    }

    /// The threads this connection watches, for clean-up.
    func watchedThreads() -> [String] {
        Array(cursors.keys)
    }
}

extension Connection.Outgoing {
    var byteCount: Int {
        switch self {
        case .text(let buffer, _, _): buffer.readableBytes
        case .close(_, let reason): 2 + reason.utf8.count
        }
    }
}
