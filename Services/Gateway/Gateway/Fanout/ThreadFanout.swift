import HeraldCore
import Logging
import Redis

/// Which threads this gateway listens to: a `ThreadFeed` per thread with at least one local watcher,
/// subscribed with its first watcher and unsubscribed after its last.
actor ThreadFanout {
    private let subscriber: RedisSubscriber
    private let keys: RedisKeys
    private let metrics: GatewayMetrics
    private let logger: Logger
    private var feeds: [String: ThreadFeed] = [:]

    init(subscriber: RedisSubscriber, keys: RedisKeys, metrics: GatewayMetrics, logger: Logger) {
        self.subscriber = subscriber
        self.keys = keys
        self.metrics = metrics
        self.logger = logger
    }

    /// Starts forwarding the thread's frames to the connection; returns once the channel is subscribed.
    func watch(_ threadID: String, by connection: Connection) async throws {
        while true {
            let feed = feeds[threadID] ?? makeFeed(threadID)
            let added: Bool
            do {
                added = try await feed.add(connection)
            } catch {
                if await feed.isRetired { remove(feed) }
                throw error
            }
            if added { return }
            // It retired between lookup and add: drop it and start a fresh one.
            remove(feed)
        }
    }

    /// Stops forwarding the thread's frames to the connection.
    func unwatch(_ threadID: String, by connection: Connection) async {
        guard let feed = feeds[threadID] else { return }
        if await feed.remove(connection) {
            remove(feed)
        }
    }

    /// Threads with a live feed on this gateway.
    var watchedThreadCount: Int { feeds.count }

    private func makeFeed(_ threadID: String) -> ThreadFeed {
        let feed = ThreadFeed(threadID: threadID, channel: keys.threadChannel(threadID), subscriber: subscriber, logger: logger)
        feeds[threadID] = feed
        metrics.watchedThreads.set(Double(feeds.count))
        return feed
    }

    /// Drops a retired feed from the map, unless a newer feed for the thread already took its place.
    private func remove(_ feed: ThreadFeed) {
        guard feeds[feed.threadID] === feed else { return }
        feeds[feed.threadID] = nil
        metrics.watchedThreads.set(Double(feeds.count))
    }
}
