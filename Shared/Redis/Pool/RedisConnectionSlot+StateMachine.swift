/// The life of one pooled connection: connected, or being (re)connected for the commands waiting for it.
///
/// Connections are made on demand. After failed attempts the next one waits out the backoff, and commands that
/// arrive meanwhile join that attempt rather than starting their own.
///
/// Generic over the connection and what waits for it, so its unit tests need no socket.
struct RedisConnectionSlotStateMachine<Connection: RedisSlotConnection, Waiter: Sendable>: Sendable {
    private enum State: Sendable {
        case idle
        case connecting([Waiter])
        case connected(Connection)
        case shutDown
    }

    private var state = State.idle
    private var failures = 0
    private var lastFailure: ContinuousClock.Instant?

    /// The open connection, if there is one: the path every command takes while all is well.
    var openConnection: Connection? {
        if case .connected(let connection) = state, !connection.isClosed { connection } else { nil }
    }

    var isShutDown: Bool {
        if case .shutDown = state { true } else { false }
    }

    enum WaitAction {
        case use(Connection)
        case wait
        case startConnecting(after: Duration)
        case fail
    }

    mutating func waitForConnection(_ waiter: Waiter, backoff: RedisBackoff, now: ContinuousClock.Instant) -> WaitAction {
        switch state {
        case .connected(let connection) where !connection.isClosed:
            return .use(connection)
        case .idle, .connected:
            state = .connecting([waiter])
            let elapsed = lastFailure.map { now - $0 } ?? .zero
            return .startConnecting(after: max(.zero, backoff.delay(afterFailures: failures) - elapsed))
        case .connecting(var waiters):
            waiters.append(waiter)
            state = .connecting(waiters)
            return .wait
        case .shutDown:
            return .fail
        }
    }

    enum ConnectedAction {
        case resume([Waiter])
        case close
    }

    mutating func connectSucceeded(_ connection: Connection) -> ConnectedAction {
        switch state {
        case .connecting(let waiters):
            state = .connected(connection)
            failures = 0
            lastFailure = nil
            return .resume(waiters)
        case .idle, .connected, .shutDown:
            return .close
        }
    }

    mutating func connectFailed(now: ContinuousClock.Instant) -> [Waiter] {
        guard case .connecting(let waiters) = state else { return [] }
        state = .idle
        failures += 1
        lastFailure = now
        return waiters
    }

    mutating func connectionClosed(_ connection: Connection) {
        if case .connected(let current) = state, current === connection {
            state = .idle
        }
    }

    mutating func shutDown() -> (waiters: [Waiter], connection: Connection?) {
        defer { state = .shutDown }
        switch state {
        case .connecting(let waiters): return (waiters, nil)
        case .connected(let connection): return ([], connection)
        case .idle, .shutDown: return ([], nil)
        }
    }
}

/// What a slot needs of its connection.
protocol RedisSlotConnection: AnyObject, Sendable {
    /// Whether the connection is gone, so the next command must make another.
    var isClosed: Bool { get }
}

extension RedisConnection: RedisSlotConnection {}
