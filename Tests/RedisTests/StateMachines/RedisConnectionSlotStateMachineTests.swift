import NIOConcurrencyHelpers
import Testing

@testable import Redis

/// A connection a slot can hold, closed at will.
private final class TestConnection: RedisSlotConnection {
    private let closed = NIOLockedValueBox(false)
    var isClosed: Bool {
        get { closed.withLockedValue { $0 } }
        set { closed.withLockedValue { $0 = newValue } }
    }
}

private typealias Machine = RedisConnectionSlotStateMachine<TestConnection, Int>

/// The life of one pooled connection, without sockets: waiters are numbers, connections plain objects.
@Suite struct RedisConnectionSlotStateMachineTests {
    private let backoff = RedisBackoff(initial: .milliseconds(100), maximum: .seconds(2))

    @Test func theFirstWaiterStartsConnectingAndLaterOnesJoinIt() {
        var machine = Machine()
        let now = ContinuousClock.now
        guard case .startConnecting(let delay) = machine.waitForConnection(1, backoff: backoff, now: now) else {
            Issue.record("the first waiter starts an attempt")
            return
        }
        #expect(delay == .zero)
        guard case .wait = machine.waitForConnection(2, backoff: backoff, now: now) else {
            Issue.record("a second waiter joins the attempt under way")
            return
        }
        let connection = TestConnection()
        guard case .resume(let waiters) = machine.connectSucceeded(connection) else {
            Issue.record("a successful attempt resumes its waiters")
            return
        }
        #expect(waiters == [1, 2])
        #expect(machine.openConnection === connection)
        guard case .use(let used) = machine.waitForConnection(3, backoff: backoff, now: now) else {
            Issue.record("an open connection is used at once")
            return
        }
        #expect(used === connection)
    }

    @Test func afterFailuresTheNextAttemptWaitsOutTheRestOfTheBackoff() {
        var machine = Machine()
        let start = ContinuousClock.now
        _ = machine.waitForConnection(1, backoff: backoff, now: start)
        #expect(machine.connectFailed(now: start) == [1])
        #expect(machine.openConnection == nil)
        let later = start + .milliseconds(30)
        guard case .startConnecting(let delay) = machine.waitForConnection(2, backoff: backoff, now: later) else {
            Issue.record("after a failure the next waiter starts another attempt")
            return
        }
        // The backoff after one failure is 75 to 100 ms (jitter); 30 ms of it have passed.
        #expect(delay >= .milliseconds(45) && delay <= .milliseconds(70))
        // A success forgets the failures.
        _ = machine.connectSucceeded(TestConnection())
        machine.connectionClosed(machine.openConnection!)
        guard case .startConnecting(let again) = machine.waitForConnection(3, backoff: backoff, now: later) else {
            Issue.record("a closed connection is made again")
            return
        }
        #expect(again == .zero)
    }

    @Test func aConnectionThatClosedIsNotUsedAndIsReplaced() {
        var machine = Machine()
        _ = machine.waitForConnection(1, backoff: backoff, now: .now)
        let connection = TestConnection()
        _ = machine.connectSucceeded(connection)
        connection.isClosed = true
        #expect(machine.openConnection == nil)
        guard case .startConnecting = machine.waitForConnection(2, backoff: backoff, now: .now) else {
            Issue.record("a closed connection is replaced")
            return
        }
    }

    @Test func closingAnotherConnectionLeavesTheCurrentOne() {
        var machine = Machine()
        _ = machine.waitForConnection(1, backoff: backoff, now: .now)
        let current = TestConnection()
        _ = machine.connectSucceeded(current)
        machine.connectionClosed(TestConnection())
        #expect(machine.openConnection === current)
    }

    @Test func anAttemptThatEndsWhenNobodyWaitsClosesItsConnection() {
        var machine = Machine()
        guard case .close = machine.connectSucceeded(TestConnection()) else {
            Issue.record("a connection nobody asked for is closed")
            return
        }
        #expect(machine.connectFailed(now: .now).isEmpty)
    }

    @Test func shuttingDownHandsBackWaitersOrTheConnectionAndRefusesLaterOnes() {
        var connecting = Machine()
        _ = connecting.waitForConnection(1, backoff: backoff, now: .now)
        _ = connecting.waitForConnection(2, backoff: backoff, now: .now)
        let (waiters, none) = connecting.shutDown()
        #expect(waiters == [1, 2] && none == nil)
        #expect(connecting.isShutDown)
        guard case .fail = connecting.waitForConnection(3, backoff: backoff, now: .now) else {
            Issue.record("a shut-down slot refuses waiters")
            return
        }
        guard case .close = connecting.connectSucceeded(TestConnection()) else {
            Issue.record("an attempt that ends after shutdown closes its connection")
            return
        }

        var connected = Machine()
        _ = connected.waitForConnection(1, backoff: backoff, now: .now)
        let connection = TestConnection()
        _ = connected.connectSucceeded(connection)
        let (noWaiters, held) = connected.shutDown()
        #expect(noWaiters.isEmpty && held === connection)
    }
}
