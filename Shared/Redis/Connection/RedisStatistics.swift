import Synchronization

private let openedConnections = Atomic<Int>(0)

/// Process-wide counts of the client's connections, for metrics: a figure that keeps rising after
/// start-up means Redis connections are being lost and re-made.
public enum RedisStatistics {
    /// Connections to Redis this process has opened (pooled, dedicated and pub/sub), AUTH and SELECT done.
    public static var connectionsOpened: Int {
        openedConnections.load(ordering: .relaxed)
    }

    static func connectionOpened() {
        openedConnections.add(1, ordering: .relaxed)
    }
}
