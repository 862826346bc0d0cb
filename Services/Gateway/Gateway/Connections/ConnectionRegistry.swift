import Logging

/// The gateway's open connections, so shutdown can close every one of them with 1001.
actor ConnectionRegistry {
    private var connections: [ObjectIdentifier: Connection] = [:]
    /// Set when shutdown began: no new connection is taken.
    private(set) var isDraining = false

    /// Registers a connection; false when the gateway is shutting down.
    func add(_ connection: Connection) -> Bool {
        guard !isDraining else { return false }
        connections[ObjectIdentifier(connection)] = connection
        return true
    }

    func remove(_ connection: Connection) {
        connections[ObjectIdentifier(connection)] = nil
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
