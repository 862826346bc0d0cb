/// The thread logs one partition consumer remembers, at most `capacity` of them.
///
/// Two generations approximate least-recently-used: a thread seen again moves to the current generation,
/// and when that is half full the older one is dropped whole. A forgotten thread costs one read when it
/// comes back.
public struct ThreadLogCache: Sendable {
    public let capacity: Int
    private var current: [String: ThreadLog] = [:]
    private var previous: [String: ThreadLog] = [:]

    public init(capacity: Int) {
        precondition(capacity > 0, "a thread log cache holds at least one thread")
        self.capacity = capacity
    }

    var count: Int { current.count + previous.count }

    /// The remembered log of `threadID`, moving it to the current generation.
    mutating func log(of threadID: String) -> ThreadLog? {
        if let log = current[threadID] { return log }
        guard let log = previous.removeValue(forKey: threadID) else { return nil }
        store(log, for: threadID)
        return log
    }

    mutating func store(_ log: ThreadLog, for threadID: String) {
        current[threadID] = log
        if current.count >= max(1, capacity / 2) {
            previous = current
            current = [:]
        }
    }

    mutating func forget(_ threadID: String) {
        current[threadID] = nil
        previous[threadID] = nil
    }
}
