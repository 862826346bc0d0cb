import Logging

/// What every connection of one gateway shares; a class, so each connection holds one reference to it.
final class ConnectionServices: Sendable {
    let settings: GatewaySettings
    let runs: RunStore
    let history: ThreadHistory
    let fanout: ThreadFanout
    let registry: ConnectionRegistry
    let authenticator: TokenAuthenticator
    let metrics: GatewayMetrics
    let logger: Logger

    init(
        settings: GatewaySettings,
        runs: RunStore,
        history: ThreadHistory,
        fanout: ThreadFanout,
        registry: ConnectionRegistry,
        authenticator: TokenAuthenticator,
        metrics: GatewayMetrics,
        logger: Logger
    ) {
        self.settings = settings
        self.runs = runs
        self.history = history
        self.fanout = fanout
        self.registry = registry
        self.authenticator = authenticator
        self.metrics = metrics
        self.logger = logger
    }
}
