import Foundation
import HeraldProtocol
import Prometheus

/// The gateway's metrics, registered with help text on the process's Prometheus registry.
public struct GatewayMetrics: Sendable {
    let connections: Gauge
    let connectionsOpened: Counter
    let upgradesRefused: Counter
    let watchedThreads: Gauge
    let framesSent: Counter
    let eventLatency: ValueHistogram
    let errors: [ErrorCode: Counter]
    let slowConsumerDisconnects: Counter
    let runsQueued: Counter
    let catchUps: Counter
    let limitRefusals: [GatewayLimit: Counter]
    /// Open server-sent-event streams and those opened, by endpoint (`agui`, `ai_sdk`).
    let streams: [String: Gauge]
    let streamsOpened: [String: Counter]
    static let streamEndpoints = ["agui", "ai_sdk"]
    /// Answers to approval requests, by outcome: `approved`, `denied`, or `conflict` when someone decided first.
    let approvalResponses: [String: Counter]

    public init(registry: PrometheusCollectorRegistry) {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "herald", subsystem: "gateway", metricName: metric, unitName: unit, helpText: help)
        }
        connections = registry.makeGauge(descriptor: name("connections", "", "Open WebSocket connections"))
        connectionsOpened = registry.makeCounter(descriptor: name("connections_opened", "total", "WebSocket connections accepted"))
        upgradesRefused = registry.makeCounter(
            descriptor: name("upgrades_refused", "total", "WebSocket upgrades refused before the upgrade (bad token, shutting down)")
        )
        watchedThreads = registry.makeGauge(
            descriptor: name("watched_threads", "", "Threads this gateway is subscribed to because a local connection watches them")
        )
        framesSent = registry.makeCounter(descriptor: name("frames_sent", "total", "Event frames written to WebSocket connections, live or replayed"))
        eventLatency = registry.makeValueHistogram(
            descriptor: name(
                "event_latency",
                "seconds",
                "Time from the worker's emit (frame timestamp) to the write on a live WebSocket or SSE stream"
            ),
            buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        )
        var errors: [ErrorCode: Counter] = [:]
        for code in ErrorCode.allCases {
            errors[code] = registry.makeCounter(
                descriptor: name("errors", "total", "Error frames sent to clients, by code"),
                labels: [("code", code.rawValue)]
            )
        }
        self.errors = errors
        slowConsumerDisconnects = registry.makeCounter(
            descriptor: name("slow_consumer_disconnects", "total", "Connections closed with 4008 because their outbound queue overflowed")
        )
        runsQueued = registry.makeCounter(descriptor: name("runs_queued", "total", "Runs put on the run queue"))
        catchUps = registry.makeCounter(
            descriptor: name(
                "catch_ups",
                "total",
                "History reads that filled a connection's view (resume, lost pub/sub connection, overflow, out-of-order frame)"
            )
        )
        var limitRefusals: [GatewayLimit: Counter] = [:]
        for limit in GatewayLimit.allCases {
            limitRefusals[limit] = registry.makeCounter(
                descriptor: name(
                    "limit_refusals",
                    "total",
                    "Messages refused, upgrades refused and connections closed because a gateway limit was reached, by limit"
                ),
                labels: [("limit", limit.rawValue)]
            )
        }
        self.limitRefusals = limitRefusals
        var streams: [String: Gauge] = [:]
        var streamsOpened: [String: Counter] = [:]
        for endpoint in Self.streamEndpoints {
            streams[endpoint] = registry.makeGauge(
                descriptor: name("sse_streams", "", "Open server-sent-event streams (AG-UI, AI SDK), by endpoint"),
                labels: [("endpoint", endpoint)]
            )
            streamsOpened[endpoint] = registry.makeCounter(
                descriptor: name("sse_streams_opened", "total", "Server-sent-event streams started, by endpoint"),
                labels: [("endpoint", endpoint)]
            )
        }
        self.streams = streams
        self.streamsOpened = streamsOpened
        var approvalResponses: [String: Counter] = [:]
        for outcome in ["approved", "denied", "conflict"] {
            approvalResponses[outcome] = registry.makeCounter(
                descriptor: name("approval_responses", "total", "Approval responses taken, by outcome (approved, denied, conflict)"),
                labels: [("outcome", outcome)]
            )
        }
        self.approvalResponses = approvalResponses
    }

    func recordApprovalResponse(_ outcome: String) {
        approvalResponses[outcome]?.increment()
    }

    func streamOpened(_ endpoint: String) {
        streams[endpoint]?.increment()
        streamsOpened[endpoint]?.increment()
    }

    func streamClosed(_ endpoint: String) {
        streams[endpoint]?.decrement()
    }

    func recordError(_ code: ErrorCode) {
        errors[code]?.increment()
    }

    func recordRefusal(_ limit: GatewayLimit) {
        limitRefusals[limit]?.increment()
    }

    func recordLatency(since emitted: Date) {
        eventLatency.record(max(0, Date().timeIntervalSince(emitted)))
    }
}
