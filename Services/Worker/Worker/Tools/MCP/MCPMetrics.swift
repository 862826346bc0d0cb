import Prometheus

/// Calls, errors, latency and restarts per MCP server.
struct MCPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "herald", subsystem: "worker", metricName: metric, unitName: unit, helpText: help)
    }

    func calls(_ server: String) -> Counter {
        registry.makeCounter(descriptor: Self.name("mcp_calls", "total", "Tool calls sent to MCP servers, by server"), labels: [("server", server)])
    }

    func errors(_ server: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("mcp_errors", "total", "MCP tool calls that failed (tool errors, a server that exited or failed), by server"),
            labels: [("server", server)]
        )
    }

    func latency(_ server: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: Self.name("mcp_call_duration", "seconds", "Time of MCP tool calls, by server"),
            labels: [("server", server)],
            buckets: [
                .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30), .seconds(120),
            ]
        )
    }

    func restarts(_ server: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("mcp_server_exits", "total", "Times an MCP server's process exited while in use, by server"),
            labels: [("server", server)]
        )
    }
}
