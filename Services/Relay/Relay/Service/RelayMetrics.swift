import Foundation
import HeraldCore
import HeraldProtocol
import Prometheus

/// The relay's metrics, registered with help text on the process's Prometheus registry.
public struct RelayMetrics: Sendable {
    let eventsPublished: Counter
    let duplicatesDropped: Counter
    let malformedEvents: Counter
    let lateEventsDropped: Counter
    let runsLost: Counter
    let partitionsOwned: Gauge
    let workerToRelaySeconds: ValueHistogram
    let runsWaiting: Gauge
    let oldestQueuedRunAge: Gauge
    private let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        runsWaiting = registry.gauge("herald_runs_waiting", help: "Runs on the queue that no worker has taken yet")
        oldestQueuedRunAge = registry.gauge(
            "herald_oldest_queued_run_age_seconds",
            help: "Age of the oldest run no worker has taken yet (0 when none waits)"
        )
        eventsPublished = registry.counter("herald_relay_events_published_total", help: "Events sequenced, stored in history and published")
        duplicatesDropped = registry.counter(
            "herald_relay_duplicates_dropped_total",
            help: "Redelivered events dropped because their event_id was already published"
        )
        malformedEvents = registry.counter(
            "herald_relay_malformed_events_total",
            help: "Partition entries dropped because they were not a valid event"
        )
        lateEventsDropped = registry.counter("herald_relay_late_events_dropped_total", help: "Events dropped because their run had already ended")
        runsLost = registry.counter("herald_relay_runs_worker_lost_total", help: "Runs closed with worker_lost because their worker's lease lapsed")
        partitionsOwned = registry.gauge("herald_relay_partitions_owned", help: "Event partitions this relay currently owns")
        workerToRelaySeconds = registry.histogram("herald_relay_event_delay_seconds", help: "Time from the worker's emit to the relay's publish")
    }

    /// Events of a partition not yet published; the registry hands back the same gauge for the same partition.
    func partitionBacklog(_ partition: Int) -> Gauge {
        registry.gauge(
            "herald_relay_partition_backlog",
            help: "Events in a partition not yet published (the partition holds what follows its cursor)",
            labels: [("partition", String(partition))]
        )
    }

    func observeDelay(since timestamp: String) {
        guard let emitted = HeraldTimestamp.parse(timestamp) else { return }
        workerToRelaySeconds.record(max(0, Date().timeIntervalSince(emitted)))
    }
}
