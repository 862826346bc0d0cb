import HeraldProtocol
import Logging
import ServiceLifecycle

/// At graceful shutdown, closes every socket with 1001 (going away) before the HTTP server stops.
///
/// It runs last in the gateway's service group, so the group shuts it down first; the server's own
/// shutdown would close sockets with 1000, which tells a client nothing about reconnecting.
struct ConnectionDrainService: Service {
    let registry: ConnectionRegistry
    let closeTimeout: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            // Cancelled rather than shut down gracefully: sockets go with the server.
            return
        }
        await registry.drain(
            code: HeraldCloseCode.goingAway,
            reason: "gateway shutting down; reconnect and resume",
            timeout: closeTimeout,
            logger: logger
        )
    }
}
