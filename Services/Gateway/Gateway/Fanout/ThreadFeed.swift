import HeraldCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Redis

/// One thread's live events on this gateway: a single Redis subscription to the thread's channel,
/// shared by every local connection watching the thread.
///
/// The feed runs on the pub/sub connection's event loop, where the subscription's handler is called: each published
/// frame is parsed once there and offered, as the same bytes, to every watcher's inbox without a hop or a wait
/// (`Connection.offer`). The rare rest — the pub/sub connection restored, the subscription ended — is queued
/// (`ThreadFeedInbox`) for a task that catches the watchers up from history, so a quiet thread keeps no task.
actor ThreadFeed {
    let threadID: String
    private let channel: String
    private let subscriber: RedisSubscriber
    private nonisolated let eventLoop: any EventLoop
    private let logger: Logger
    private var watchers: [ObjectIdentifier: Connection] = [:]
    private var subscribing: Task<Void, any Error>?
    private var subscription: RedisPushSubscription?
    /// Counts subscriptions made, so the end of one replaced since is told apart from the end of the current one.
    private var generation = 0
    private let inbox: NIOLockedValueBox<ThreadFeedInbox>
    /// Set when the last watcher left; a retired feed takes no new watchers (the fanout makes a new one).
    private(set) var isRetired = false

    init(threadID: String, channel: String, subscriber: RedisSubscriber, logger: Logger) {
        self.threadID = threadID
        self.channel = channel
        self.subscriber = subscriber
        self.eventLoop = subscriber.eventLoop
        self.inbox = NIOLockedValueBox(ThreadFeedInbox())
        var logger = logger
        logger[metadataKey: "thread"] = "\(threadID)"
        self.logger = logger
    }

    /// The subscriber's event loop, so the subscription's handler is already on the feed's executor.
    nonisolated var unownedExecutor: UnownedSerialExecutor {
        eventLoop.executor.asUnownedSerialExecutor()
    }

    /// Adds a watcher and returns once the subscription is live, so whatever is published from now on
    /// reaches it. False when the feed has retired.
    func add(_ connection: Connection) async throws -> Bool {
        guard !isRetired else { return false }
        watchers[ObjectIdentifier(connection)] = connection
        do {
            try await ensureSubscribed()
        } catch {
            _ = await remove(connection)
            throw error
        }
        return true
    }

    /// Removes a watcher; true when it was the last one and the feed retired.
    func remove(_ connection: Connection) async -> Bool {
        watchers[ObjectIdentifier(connection)] = nil
        guard watchers.isEmpty, !isRetired else { return false }
        isRetired = true
        let ending = subscription
        subscription = nil
        await ending?.unsubscribe()
        return true
    }

    /// Subscribes unless subscribed; every subscribing goes through here, so at most one is in flight and the
    /// newest `generation` is the subscription's.
    private func ensureSubscribed() async throws {
        if subscription != nil { return }
        if let subscribing {
            // Someone else is subscribing (a new watcher, or a renewal): wait for the same confirmation.
            try await subscribing.value
            return
        }
        let task = Task { try await subscribe() }
        subscribing = task
        defer { subscribing = nil }
        try await task.value
    }

    /// Subscribes afresh; the subscription is kept unless the feed retired meanwhile.
    private func subscribe() async throws {
        generation += 1
        let fresh = try await subscriber.subscribe(channel, handler: handler(generation: generation))
        guard !isRetired else {
            // Every watcher left while Redis confirmed: nobody needs it any more.
            await fresh.unsubscribe()
            return
        }
        subscription = fresh
    }

    /// What the subscriber calls, on its event loop (this feed's executor): a message goes to the watchers at once;
    /// the rest is queued, and a drain started when none runs.
    private nonisolated func handler(generation: Int) -> @Sendable (RedisSubscriptionUpdate) -> Void {
        { [inbox] update in
            let item: ThreadFeedInbox.Item
            switch update {
            case .event(.message(let message)):
                self.assumeIsolated { $0.deliver(message) }
                return
            case .event(.resubscribed): item = .resubscribed
            case .ended(let error): item = .ended(generation: generation, error: error.map { "\($0)" })
            }
            if inbox.withLockedValue({ $0.push(item) }) {
                Task { await self.drain() }
            }
        }
    }

    /// Handles everything queued, in order, until nothing waits.
    private func drain() async {
        while let items = inbox.withLockedValue({ $0.take() }) {
            for item in items {
                switch item {
                case .resubscribed:
                    logger.info("pub/sub connection restored; watchers catch up from history")
                    await catchUpWatchers()
                case .ended(let ended, let error):
                    guard ended == generation, !isRetired else { continue }
                    // Ended without our unsubscribing (the subscriber restarted): don't go deaf.
                    logger.warning("thread subscription ended; resubscribing and catching up", metadata: ["error": "\(error ?? "none")"])
                    subscription = nil
                    await renewSubscription()
                    await catchUpWatchers()
                }
            }
        }
    }

    /// Subscribes again, with backoff while Redis cannot be reached.
    private func renewSubscription() async {
        var failures = 0
        while !isRetired, subscription == nil {
            do {
                try await ensureSubscribed()
            } catch {
                failures += 1
                logger.warning("cannot resubscribe to thread channel", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                try? await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
            }
        }
    }

    /// Delivers one channel message: the frames the relay published together, one per line.
    private func deliver(_ message: ByteBuffer) {
        for text in ThreadChannelMessage.frames(in: message) {
            guard let frame = ThreadFrame(text) else {
                logger.warning("dropped a malformed frame from the thread channel", metadata: ["bytes": "\(text.readableBytes)"])
                continue
            }
            for connection in watchers.values {
                connection.offer(frame, threadID: threadID)
            }
        }
    }

    private func catchUpWatchers() async {
        for connection in watchers.values {
            await connection.requestCatchUp(threadID)
        }
    }
}
