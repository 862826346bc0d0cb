import HummingbirdCore
import Logging
import NIOCore

/// Wraps the server's child channel setup to put a `ConnectionTimeoutHandler` in front of every accepted
/// connection, before the HTTP codec: Hummingbird's own idle timeout only starts once a request head
/// arrived, so a client that connects and never finishes its request would otherwise hold the socket forever.
struct TimeoutChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let upgradeTimeout: Duration
    let pingInterval: Duration
    let idleTimeout: Duration
    let metrics: GatewayMetrics
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            // The server runs this on the connection's event loop, before any byte is read.
            let handler = ConnectionTimeoutHandler(
                upgradeTimeout: upgradeTimeout,
                pingInterval: pingInterval,
                idleTimeout: idleTimeout,
                metrics: metrics,
                logger: self.logger
            )
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
