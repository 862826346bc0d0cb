import NIOCore

/// The channels a subscriber listens to, who listens to each, and which `SUBSCRIBE`s the server has confirmed.
///
/// Subscriptions are counted per channel: `SUBSCRIBE` goes out with the first one and `UNSUBSCRIBE` after the last.
/// Redis confirms `SUBSCRIBE`s of a channel in the order they were sent, so counting sent commands and confirmations
/// per channel tells which confirmation a waiting `subscribe` call needs.
struct RedisSubscriberStateMachine {
    private struct Listener {
        let id: Int
        let sink: RedisSubscriptionSink
        /// Messages may have been missed since it was last live; it is told so once the channel is confirmed.
        var missedMessages: Bool
    }

    private struct ChannelState {
        var listeners: [Listener] = []
        var subscribesSent = 0
        var subscribesConfirmed = 0
        var waiters: [(confirmation: Int, id: Int, promise: EventLoopPromise<Void>)] = []

        var isUnused: Bool {
            listeners.isEmpty && waiters.isEmpty && subscribesConfirmed >= subscribesSent
        }
    }

    private var channels: [String: ChannelState] = [:]
    private(set) var isConnected = false
    private(set) var isStopped = false

    enum SubscribeAction {
        /// Confirmed already, or registered for when the subscriber connects.
        case ready
        /// Wait for the server's confirmation, sending `SUBSCRIBE` first when asked to.
        case wait(sendSubscribe: Bool)
        case stopped
    }

    mutating func subscribe(_ channel: String, id: Int, sink: RedisSubscriptionSink, promise: EventLoopPromise<Void>) -> SubscribeAction {
        guard !isStopped else { return .stopped }
        var state = channels[channel, default: ChannelState()]
        defer { channels[channel] = state }
        state.listeners.append(Listener(id: id, sink: sink, missedMessages: !isConnected))
        guard isConnected else { return .ready }
        let sendSubscribe = state.listeners.count == 1
        if sendSubscribe {
            state.subscribesSent += 1
        }
        guard state.subscribesConfirmed < state.subscribesSent else { return .ready }
        state.waiters.append((state.subscribesSent, id, promise))
        return .wait(sendSubscribe: sendSubscribe)
    }

    /// Removes one subscription; returns its sink, and whether the channel needs `UNSUBSCRIBE` now.
    mutating func unsubscribe(_ channel: String, id: Int) -> (sink: RedisSubscriptionSink, sendUnsubscribe: Bool)? {
        guard var state = channels[channel], let index = state.listeners.firstIndex(where: { $0.id == id }) else { return nil }
        let listener = state.listeners.remove(at: index)
        channels[channel] = state.isUnused ? nil : state
        return (listener.sink, state.listeners.isEmpty && isConnected)
    }

    /// Gives up on a confirmation that did not come (Redis refused the `SUBSCRIBE`, e.g. `NOPERM`): removes the
    /// subscription and returns what to fail, or nil when the confirmation came meanwhile.
    mutating func confirmationTimedOut(
        _ channel: String,
        id: Int
    ) -> (promise: EventLoopPromise<Void>, sink: RedisSubscriptionSink?, sendUnsubscribe: Bool)? {
        guard var state = channels[channel], let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
        let waiter = state.waiters.remove(at: index)
        let listener = state.listeners.firstIndex { $0.id == id }.map { state.listeners.remove(at: $0) }
        channels[channel] = state.isUnused ? nil : state
        return (waiter.promise, listener?.sink, listener != nil && state.listeners.isEmpty && isConnected)
    }

    /// What a delivery or confirmation did besides yielding events.
    struct Outcome {
        var ready: [EventLoopPromise<Void>] = []
        /// Subscriptions whose buffer was full: they are removed and must end with `bufferOverflow`.
        var overflowed: [RedisSubscriptionSink] = []
        var sendUnsubscribe = false
    }

    mutating func subscribeConfirmed(_ channel: String) -> Outcome {
        guard var state = channels[channel] else { return Outcome() }
        var outcome = Outcome()
        state.subscribesConfirmed += 1
        let confirmed = state.subscribesConfirmed
        state.waiters.removeAll { waiter in
            guard waiter.confirmation <= confirmed else { return false }
            outcome.ready.append(waiter.promise)
            return true
        }
        let hadListeners = !state.listeners.isEmpty
        state.listeners.removeAll { listener in
            guard listener.missedMessages else { return false }
            return Self.yield(.resubscribed, to: listener, overflowed: &outcome.overflowed)
        }
        for index in state.listeners.indices {
            state.listeners[index].missedMessages = false
        }
        outcome.sendUnsubscribe = hadListeners && state.listeners.isEmpty
        channels[channel] = state.isUnused ? nil : state
        return outcome
    }

    mutating func deliver(_ message: ByteBuffer, on channel: String) -> Outcome {
        guard var state = channels[channel], !state.listeners.isEmpty else { return Outcome() }
        var outcome = Outcome()
        state.listeners.removeAll { listener in
            Self.yield(.message(message), to: listener, overflowed: &outcome.overflowed)
        }
        outcome.sendUnsubscribe = state.listeners.isEmpty
        channels[channel] = state.isUnused ? nil : state
        return outcome
    }

    /// Yields `event`; returns true when the listener's buffer was full and it must be removed.
    private static func yield(_ event: RedisSubscriptionEvent, to listener: Listener, overflowed: inout [RedisSubscriptionSink]) -> Bool {
        switch listener.sink.yield(event) {
        case .taken, .gone:
            // A gone consumer's termination handler removes it.
            return false
        case .overflowed:
            overflowed.append(listener.sink)
            return true
        }
    }

    /// A new connection is ready: returns the channels to subscribe, each counted as one `SUBSCRIBE` sent.
    mutating func connected() -> [String] {
        isConnected = true
        for channel in channels.keys {
            if channels[channel]!.listeners.isEmpty {
                channels[channel] = nil
            } else {
                channels[channel]!.subscribesSent = 1
                channels[channel]!.subscribesConfirmed = 0
            }
        }
        return Array(channels.keys)
    }

    /// The connection is gone: every subscription may now miss messages, and nobody waits for a confirmation that
    /// will not come (their subscriptions are subscribed again on the next connection).
    mutating func disconnected() -> [EventLoopPromise<Void>] {
        isConnected = false
        var ready: [EventLoopPromise<Void>] = []
        for channel in channels.keys {
            var state = channels[channel]!
            ready.append(contentsOf: state.waiters.map(\.promise))
            state.waiters = []
            state.subscribesSent = 0
            state.subscribesConfirmed = 0
            for index in state.listeners.indices {
                state.listeners[index].missedMessages = true
            }
            channels[channel] = state.listeners.isEmpty ? nil : state
        }
        return ready
    }

    /// The subscriber stopped: returns every subscription (to finish) and every waiting `subscribe` call.
    mutating func stop() -> (sinks: [RedisSubscriptionSink], waiters: [EventLoopPromise<Void>]) {
        isStopped = true
        isConnected = false
        defer { channels = [:] }
        return (
            channels.values.flatMap { $0.listeners.map(\.sink) },
            channels.values.flatMap { $0.waiters.map(\.promise) }
        )
    }
}
