import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Redis

/// A subscriber's channels and confirmations, without a socket: sinks are handlers that record what they get, and
/// the promises, which the machine only hands back, come from an event loop.
@Suite struct RedisSubscriberStateMachineTests {
    /// What one subscription received.
    private final class Recorder: Sendable {
        private let updates = NIOLockedValueBox<[String]>([])
        var received: [String] { updates.withLockedValue { $0 } }
        var sink: RedisSubscriptionSink {
            .handler { update in
                let text: String
                switch update {
                case .event(.message(let buffer)): text = "message " + String(buffer: buffer)
                case .event(.resubscribed): text = "resubscribed"
                case .ended(let error): text = error == nil ? "ended" : "failed"
                }
                self.updates.withLockedValue { $0.append(text) }
            }
        }
    }

    /// Every promise a test makes, completed when it ends (NIO stops on a promise left pending).
    private final class Promises: Sendable {
        private let loop = MultiThreadedEventLoopGroup.singleton.next()
        private let made = NIOLockedValueBox<[EventLoopPromise<Void>]>([])

        func make() -> EventLoopPromise<Void> {
            let promise = loop.makePromise(of: Void.self)
            made.withLockedValue { $0.append(promise) }
            return promise
        }

        func completeAll() {
            for promise in made.withLockedValue({ $0 }) { promise.succeed() }
        }
    }

    private let promises = Promises()

    private func sendsSubscribe(_ action: RedisSubscriberStateMachine.SubscribeAction) -> Bool? {
        switch action {
        case .wait(let send): send
        case .ready: nil
        case .stopped: nil
        }
    }

    @Test func theFirstSubscriptionOfAChannelSendsSubscribeAndWaitsForItsConfirmation() {
        defer { promises.completeAll() }
        var machine = RedisSubscriberStateMachine()
        _ = machine.connected()
        let a = Recorder()
        let b = Recorder()
        let first = promises.make()
        let second = promises.make()
        #expect(sendsSubscribe(machine.subscribe("ch", id: 1, sink: a.sink, promise: first)) == true)
        #expect(sendsSubscribe(machine.subscribe("ch", id: 2, sink: b.sink, promise: second)) == false)
        let outcome = machine.subscribeConfirmed("ch")
        #expect(outcome.ready.count == 2 && !outcome.sendUnsubscribe)
        // Once confirmed, a third subscription is ready at once.
        guard case .ready = machine.subscribe("ch", id: 3, sink: Recorder().sink, promise: promises.make()) else {
            Issue.record("a confirmed channel's new subscription is ready at once")
            return
        }
    }

    @Test func messagesReachEveryListenerOfTheirChannelOnly() {
        defer { promises.completeAll() }
        var machine = RedisSubscriberStateMachine()
        _ = machine.connected()
        let a = Recorder()
        let other = Recorder()
        _ = machine.subscribe("ch", id: 1, sink: a.sink, promise: promises.make())
        _ = machine.subscribe("other", id: 2, sink: other.sink, promise: promises.make())
        _ = machine.subscribeConfirmed("ch")
        _ = machine.subscribeConfirmed("other")
        _ = machine.deliver(ByteBuffer(string: "one"), on: "ch")
        _ = machine.deliver(ByteBuffer(string: "two"), on: "ch")
        #expect(a.received == ["message one", "message two"])
        #expect(other.received.isEmpty)
    }

    @Test func theLastUnsubscribeOfAChannelSendsUnsubscribe() {
        defer { promises.completeAll() }
        var machine = RedisSubscriberStateMachine()
        _ = machine.connected()
        _ = machine.subscribe("ch", id: 1, sink: Recorder().sink, promise: promises.make())
        _ = machine.subscribe("ch", id: 2, sink: Recorder().sink, promise: promises.make())
        _ = machine.subscribeConfirmed("ch")
        #expect(machine.unsubscribe("ch", id: 1)?.sendUnsubscribe == false)
        #expect(machine.unsubscribe("ch", id: 2)?.sendUnsubscribe == true)
        #expect(machine.unsubscribe("ch", id: 2) == nil, "a subscription is removed once")
    }

    @Test func aReconnectSubscribesAgainAndTellsListenersTheyMayHaveMissedMessages() {
        defer { promises.completeAll() }
        var machine = RedisSubscriberStateMachine()
        _ = machine.connected()
        let a = Recorder()
        _ = machine.subscribe("ch", id: 1, sink: a.sink, promise: promises.make())
        _ = machine.subscribeConfirmed("ch")
        #expect(machine.disconnected().isEmpty)
        #expect(!machine.isConnected)
        #expect(machine.connected() == ["ch"])
        _ = machine.subscribeConfirmed("ch")
        _ = machine.deliver(ByteBuffer(string: "after"), on: "ch")
        #expect(a.received == ["resubscribed", "message after"])
    }

    @Test func aDisconnectReleasesWhoeverWaitsForAConfirmation() {
        defer { promises.completeAll() }
        var machine = RedisSubscriberStateMachine()
        _ = machine.connected()
        let waiting = promises.make()
        _ = machine.subscribe("ch", id: 1, sink: Recorder().sink, promise: waiting)
        let released = machine.disconnected()
        #expect(released.count == 1)
    }

    @Test func aSubscriptionMadeWhileDisconnectedIsReadyAndSubscribedOnConnect() {
        defer { promises.completeAll() }
        var machine = RedisSubscriberStateMachine()
        let a = Recorder()
        guard case .ready = machine.subscribe("ch", id: 1, sink: a.sink, promise: promises.make()) else {
            Issue.record("a subscription before the connection is registered for it")
            return
        }
        #expect(machine.connected() == ["ch"])
        _ = machine.subscribeConfirmed("ch")
        #expect(a.received == ["resubscribed"])
    }

    @Test func aConfirmationThatNeverCameRemovesTheSubscription() {
        defer { promises.completeAll() }
        var machine = RedisSubscriberStateMachine()
        _ = machine.connected()
        let promise = promises.make()
        _ = machine.subscribe("ch", id: 1, sink: Recorder().sink, promise: promise)
        let given = machine.confirmationTimedOut("ch", id: 1)
        #expect(given != nil && given?.sink != nil && given?.sendUnsubscribe == true)
        #expect(machine.confirmationTimedOut("ch", id: 1) == nil)
    }

    @Test func stoppingHandsBackEverySubscriptionAndWaiterAndRefusesNewOnes() {
        defer { promises.completeAll() }
        var machine = RedisSubscriberStateMachine()
        _ = machine.connected()
        _ = machine.subscribe("a", id: 1, sink: Recorder().sink, promise: promises.make())
        _ = machine.subscribe("b", id: 2, sink: Recorder().sink, promise: promises.make())
        let (sinks, waiters) = machine.stop()
        #expect(sinks.count == 2 && waiters.count == 2)
        guard case .stopped = machine.subscribe("c", id: 3, sink: Recorder().sink, promise: promises.make()) else {
            Issue.record("a stopped subscriber refuses subscriptions")
            return
        }
        #expect(machine.isStopped)
    }
}
