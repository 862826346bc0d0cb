import Prometheus

/// Metric constructors that always carry help text, as every Herald metric does.
extension PrometheusCollectorRegistry {
    public func counter(_ name: String, help: String, labels: [(String, String)] = []) -> Counter {
        makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
    }

    public func gauge(_ name: String, help: String, labels: [(String, String)] = []) -> Gauge {
        makeGauge(descriptor: Self.descriptor(name, help), labels: labels)
    }

    public func histogram(
        _ name: String,
        help: String,
        buckets: [Double] = HeraldBuckets.latencySeconds,
        labels: [(String, String)] = []
    ) -> ValueHistogram {
        makeValueHistogram(descriptor: Self.descriptor(name, help), labels: labels, buckets: buckets)
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}

/// Histogram buckets shared by Herald's metrics.
public enum HeraldBuckets {
    /// From half a millisecond to ten seconds: event latencies live at the low end, stalls at the top.
    public static let latencySeconds: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Run durations, from a tenth of a second to five minutes.
    public static let runSeconds: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
}
