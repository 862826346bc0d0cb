/// Latency samples in milliseconds, kept in memory and sorted once for percentiles.
struct LatencySamples: Sendable {
    private(set) var values: [Double] = []
    private var sorted = true

    init(capacity: Int = 0) {
        values.reserveCapacity(capacity)
    }

    var count: Int { values.count }

    mutating func add(_ milliseconds: Double) {
        if let last = values.last, milliseconds < last { sorted = false }
        values.append(milliseconds)
    }

    mutating func merge(_ other: LatencySamples) {
        values.append(contentsOf: other.values)
        sorted = false
    }

    /// Sorts once; percentiles and the max read the sorted array.
    func summary() -> LatencySummary? {
        guard !values.isEmpty else { return nil }
        let ordered = sorted ? values : values.sorted()
        func percentile(_ q: Double) -> Double {
            // Nearest rank: the smallest sample with at least q of all samples at or below it.
            let rank = Int((q * Double(ordered.count)).rounded(.up))
            return ordered[min(max(rank, 1), ordered.count) - 1]
        }
        let mean = ordered.reduce(0, +) / Double(ordered.count)
        return LatencySummary(
            count: ordered.count,
            mean: mean,
            p50: percentile(0.5),
            p90: percentile(0.9),
            p99: percentile(0.99),
            max: ordered[ordered.count - 1]
        )
    }
}

/// The usual latency figures, in milliseconds.
struct LatencySummary: Sendable {
    var count: Int
    var mean: Double
    var p50: Double
    var p90: Double
    var p99: Double
    var max: Double

    var line: String {
        "n=\(Format.grouped(Double(count))) mean \(Format.milliseconds(mean)) p50 \(Format.milliseconds(p50)) p90 \(Format.milliseconds(p90)) p99 \(Format.milliseconds(p99)) max \(Format.milliseconds(max))"
    }
}
