import Foundation
import HeraldProtocol
import Prometheus

/// The relay's metrics, registered with help text on the process's Prometheus registry.
public struct RelayMetrics: Sendable {
    let eventsPublished: Counter
    let duplicatesDropped: Counter
    let malformedEvents: Counter
    let partitionsOwned: Gauge
    let workerToRelaySeconds: ValueHistogram

    public init(registry: PrometheusCollectorRegistry) {
        eventsPublished = registry.makeCounter(name: "herald_relay_events_published_total", help: "Events sequenced, stored in history and published")
        duplicatesDropped = registry.makeCounter(name: "herald_relay_duplicates_dropped_total", help: "Redelivered events dropped because their event_id was already published")
        malformedEvents = registry.makeCounter(name: "herald_relay_malformed_events_total", help: "Partition entries dropped because they were not a valid event")
        partitionsOwned = registry.makeGauge(name: "herald_relay_partitions_owned", help: "Event partitions this relay currently owns")
        workerToRelaySeconds = registry.makeValueHistogram(
            name: "herald_relay_event_delay_seconds",
            buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
            help: "Time from the worker's emit to the relay's publish"
        )
    }

    func observeDelay(since timestamp: String) {
        guard let emitted = HeraldTimestamp.parse(timestamp) else { return }
        workerToRelaySeconds.record(max(0, Date().timeIntervalSince(emitted)))
    }
}
