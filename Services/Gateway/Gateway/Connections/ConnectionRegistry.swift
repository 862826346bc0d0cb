import Logging

/// The gateway's open connections, so shutdown can close every one of them with 1001, and how many
/// each user has, for `HERALD_MAX_CONNECTIONS_PER_USER` (a count per gateway, not per deployment).
actor ConnectionRegistry {
    /// What became of a connection offered to the registry.
    enum Admission: Equatable {
        case added
        /// The gateway is shutting down.
        case draining
        /// The user already has the most connections allowed on this gateway.
        case overUserLimit
    }

    private let maxConnectionsPerUser: Int
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var perUser: [String: Int] = [:]
    /// Set when shutdown began: no new connection is taken.
    private(set) var isDraining = false

    init(maxConnectionsPerUser: Int) {
        self.maxConnectionsPerUser = maxConnectionsPerUser
    }

    /// Registers a connection unless the gateway is shutting down or its user is at the cap.
    func add(_ connection: Connection) -> Admission {
        guard !isDraining else { return .draining }
        let user = connection.identity.userID
        let open = perUser[user, default: 0]
        guard open < maxConnectionsPerUser else { return .overUserLimit }
        perUser[user] = open + 1
        connections[ObjectIdentifier(connection)] = connection
        return .added
    }

    func remove(_ connection: Connection) {
        guard connections.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        let user = connection.identity.userID
        let left = perUser[user, default: 1] - 1
        perUser[user] = left > 0 ? left : nil
    }

    var count: Int { connections.count }

    /// Refuses new connections, closes every open one with `code`, and waits until they are gone or `timeout` passed.
    func drain(code: UInt16, reason: String, timeout: Duration, logger: Logger) async {
        isDraining = true
        let open = Array(connections.values)
        logger.info("closing connections for shutdown", metadata: ["connections": "\(open.count)"])
        for connection in open {
            await connection.close(code: code, reason: reason)
        }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        // Each connection leaves once its client answered the close (or its close timeout dropped it).
        while !connections.isEmpty, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !connections.isEmpty {
            logger.warning("connections still open after the close timeout", metadata: ["connections": "\(connections.count)"])
        }
    }
}
