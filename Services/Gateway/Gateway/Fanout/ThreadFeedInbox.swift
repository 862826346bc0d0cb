import NIOCore

/// What a thread's subscription delivered that its `ThreadFeed` has not handed to its watchers yet, bounded: the
/// subscription's handler pushes on the subscriber's event loop, one drain at a time takes, in order.
///
/// A drain runs only while something waits, so a quiet thread keeps no task (a task per watched thread was about
/// half of an idle watcher's memory).
struct ThreadFeedInbox: Sendable {
    /// Something for the feed to do, in the order it happened.
    enum Item: Sendable, Equatable {
        /// Frames the relay published together.
        case message(ByteBuffer)
        /// Watchers must fill a gap from history.
        case catchUp(CatchUpReason)
        /// The subscription of `generation` ended; `error` says why when it failed.
        case ended(generation: Int, error: String?)
    }

    /// Why frames may have been missed.
    enum CatchUpReason: Sendable, Equatable {
        /// The pub/sub connection was lost and restored.
        case resubscribed
        /// More than `limit` messages waited: they were dropped.
        case overflowed
    }

    /// Most messages that may wait (the subscriber's `bufferSize`).
    let limit: Int
    private var items: [Item] = []
    private var messages = 0
    private var draining = false

    init(limit: Int) {
        precondition(limit > 0, "the inbox must hold at least one message")
        self.limit = limit
    }

    /// Adds `item`; true when no drain is running and the caller must start one.
    mutating func push(_ item: Item) -> Bool {
        if case .message = item {
            if messages == limit {
                // The feed fell behind: what waits is dropped, and a catch-up from history fills the gap.
                items.removeAll { if case .message = $0 { true } else { false } }
                messages = 0
                items.append(.catchUp(.overflowed))
            }
            messages += 1
        }
        items.append(item)
        guard !draining else { return false }
        draining = true
        return true
    }

    /// Everything waiting, in order; nil when nothing is, which ends the drain.
    mutating func take() -> [Item]? {
        guard !items.isEmpty else {
            draining = false
            return nil
        }
        defer {
            items = []
            messages = 0
        }
        return items
    }
}
