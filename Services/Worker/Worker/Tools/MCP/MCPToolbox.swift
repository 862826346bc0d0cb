import Logging
import Prometheus
import ServiceLifecycle

/// The worker's MCP servers (DESIGN.md section 11) and the tools they offer now. As a `Service` it starts every
/// server at start, in parallel; one that fails or does not answer within `HERALD_MCP_START_TIMEOUT_SECONDS` is tried
/// again in the background, with backoff, while runs go on with the other tools. At shutdown the servers stop.
public struct MCPToolbox: Service, CustomStringConvertible {
    let connections: [MCPServerConnection]
    let metrics: MCPMetrics
    let logger: Logger

    public init(servers: [MCPServerConfiguration], startTimeout: Duration, registry: PrometheusCollectorRegistry, logger: Logger) {
        let metrics = MCPMetrics(registry: registry)
        self.metrics = metrics
        self.connections = servers.map { MCPServerConnection(configuration: $0, startTimeout: startTimeout, metrics: metrics, logger: logger) }
        self.logger = logger
    }

    public var description: String { "MCPToolbox(\(connections.count) servers)" }

    /// The tools of every server that has started, named `<server>.<tool>`.
    public func tools() async -> [any Tool] {
        var tools: [any Tool] = []
        for connection in connections {
            let server = connection.configuration.name
            for tool in await connection.tools {
                tools.append(MCPTool(tool, server: server, connection: connection, metrics: metrics))
            }
        }
        return tools
    }

    public func run() async throws {
        let connections = self.connections
        await withGracefulShutdownHandler {
            await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    for connection in connections {
                        group.addTask { await keepTrying(connection) }
                    }
                }
                // Started (or given up at shutdown): wait for the shutdown to stop the servers.
                try? await Task.sleep(for: .seconds(365 * 86_400))
            }
        } onGracefulShutdown: {
            // At once, so a server still starting (or hanging in its start) does not hold the shutdown.
            Task { for connection in connections { await connection.stop() } }
        }
        for connection in connections { await connection.stop() }
    }

    /// Starts `connection`'s server, retrying with backoff until it starts once; later exits restart it on demand.
    private func keepTrying(_ connection: MCPServerConnection) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await connection.start()
                return
            } catch {
                failures += 1
                if failures == 1 || failures % 10 == 0 {
                    logger.warning(
                        "MCP server unavailable; runs go on without its tools, and it is tried again",
                        metadata: ["mcp_server": "\(connection.configuration.name)", "error": "\(error)", "attempts": "\(failures)"]
                    )
                }
                try? await Task.sleep(for: .seconds(min(60, 1 << min(failures, 6))))
            }
        }
    }
}
