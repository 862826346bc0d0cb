/// What a thread's subscription reported besides messages that its `ThreadFeed` has not handled yet: the subscription's
/// handler pushes on the subscriber's event loop, one drain at a time takes, in order.
///
/// A drain runs only while something waits, so a quiet thread keeps no task (a task per watched thread was about
/// half of an idle watcher's memory). Messages do not pass here: the feed hands them to its watchers at once.
struct ThreadFeedInbox: Sendable {
    /// Something for the feed to do, in the order it happened.
    enum Item: Sendable, Equatable {
        /// The pub/sub connection was lost and restored, so frames may have been missed: watchers fill the gap from
        /// history.
        case resubscribed
        /// The subscription of `generation` ended; `error` says why when it failed.
        case ended(generation: Int, error: String?)
    }

    private var items: [Item] = []
    private var draining = false

    /// Adds `item`; true when no drain is running and the caller must start one.
    mutating func push(_ item: Item) -> Bool {
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
        defer { items = [] }
        return items
    }
}
