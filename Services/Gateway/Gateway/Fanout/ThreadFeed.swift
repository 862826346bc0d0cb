import HeraldCore
import Logging
import NIOCore
import Redis

/// One thread's live events on this gateway: a single Redis subscription to the thread's channel,
/// shared by every local connection watching the thread.
///
/// Each published frame is parsed once and handed, as the same bytes, to every watcher. A gap
/// signal (the pub/sub connection was lost and restored) or an overflow of the subscription's
/// buffer makes every watcher catch up from history, after the subscription is live again.
actor ThreadFeed {
    let threadID: String
    private let channel: String
    private let subscriber: RedisSubscriber
    private let logger: Logger
    private var watchers: [ObjectIdentifier: Connection] = [:]
    private var subscribing: Task<RedisSubscription, any Error>?
    private var subscription: RedisSubscription?
    private var forwarder: Task<Void, Never>?
    /// Set when the last watcher left; a retired feed takes no new watchers (the fanout makes a new one).
    private(set) var isRetired = false

    init(threadID: String, channel: String, subscriber: RedisSubscriber, logger: Logger) {
        self.threadID = threadID
        self.channel = channel
        self.subscriber = subscriber
        var logger = logger
        logger[metadataKey: "thread"] = "\(threadID)"
        self.logger = logger
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
        forwarder?.cancel()
        forwarder = nil
        let ending = subscription
        subscription = nil
        await ending?.unsubscribe()
        return true
    }

    private func ensureSubscribed() async throws {
        if subscription != nil { return }
        if let subscribing {
            // Someone else is subscribing: wait for the same confirmation.
            _ = try await subscribing.value
            return
        }
        let task = Task { [subscriber, channel] in try await subscriber.subscribe(channel) }
        subscribing = task
        let fresh: RedisSubscription
        do {
            fresh = try await task.value
            subscribing = nil
        } catch {
            subscribing = nil
            throw error
        }
        guard !isRetired else {
            // Every watcher left while Redis confirmed: nobody needs it any more.
            await fresh.unsubscribe()
            return
        }
        subscription = fresh
        forwarder = Task { await self.forward(fresh) }
    }

    private func forward(_ first: RedisSubscription) async {
        var current = first
        while !Task.isCancelled, !isRetired {
            do {
                for try await event in current {
                    switch event {
                    case .message(let text):
                        await deliver(text)
                    case .resubscribed:
                        logger.info("pub/sub connection restored; watchers catch up from history")
                        await catchUpWatchers()
                    }
                }
                guard !Task.isCancelled, !isRetired else { return }
                // Ended without our unsubscribing (the subscriber restarted): don't go deaf.
                logger.warning("thread subscription ended; resubscribing and catching up")
                try? await Task.sleep(for: .milliseconds(100))
            } catch {
                // Most likely the subscription's buffer overflowed (this gateway fell behind): frames
                // were dropped, so subscribe afresh and let every watcher fill the gap from history.
                guard !Task.isCancelled, !isRetired else { return }
                logger.warning("thread subscription failed; resubscribing and catching up", metadata: ["error": "\(error)"])
            }
            guard let renewed = await renewSubscription() else { return }
            current = renewed
            await catchUpWatchers()
        }
    }

    /// Subscribes again, then lets go of the old subscription, so the channel stays subscribed throughout.
    private func renewSubscription() async -> RedisSubscription? {
        var failures = 0
        while !Task.isCancelled, !isRetired {
            do {
                let fresh = try await subscriber.subscribe(channel)
                guard !isRetired else {
                    await fresh.unsubscribe()
                    return nil
                }
                let old = subscription
                subscription = fresh
                await old?.unsubscribe()
                return fresh
            } catch {
                failures += 1
                logger.warning("cannot resubscribe to thread channel", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                try? await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
            }
        }
        return nil
    }

    /// Delivers one channel message: the frames the relay published together, one per line.
    private func deliver(_ message: ByteBuffer) async {
        for text in ThreadChannelMessage.frames(in: message) {
            guard let frame = ThreadFrame(text) else {
                logger.warning("dropped a malformed frame from the thread channel", metadata: ["bytes": "\(text.readableBytes)"])
                continue
            }
            for connection in watchers.values {
                await connection.deliver(frame, threadID: threadID)
            }
        }
    }

    private func catchUpWatchers() async {
        for connection in watchers.values {
            await connection.requestCatchUp(threadID)
        }
    }
}
