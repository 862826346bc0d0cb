import Logging

/// What every connection of one gateway shares.
struct ConnectionServices: Sendable {
    let settings: GatewaySettings
    let runs: RunStore
    let history: ThreadHistory
    let fanout: ThreadFanout
    let registry: ConnectionRegistry
    let metrics: GatewayMetrics
    let logger: Logger
}
