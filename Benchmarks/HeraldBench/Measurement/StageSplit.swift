import Foundation

/// The relays' and the gateway's latency histograms at one moment.
struct StageSnapshot: Sendable {
    var relay: HistogramSnapshot?
    var gateway: HistogramSnapshot?
    var problems: [String] = []

    static func scrape(relays: [MetricsEndpoint], gateway: MetricsEndpoint?, relayHistogram: String, gatewayHistogram: String) async -> StageSnapshot
    {
        var snapshot = StageSnapshot()
        for endpoint in relays {
            do {
                guard let histogram = try await endpoint.scrape().histogram(relayHistogram) else {
                    snapshot.problems.append("\(endpoint) has no \(relayHistogram)")
                    continue
                }
                snapshot.relay = snapshot.relay.map { $0.adding(histogram) } ?? histogram
            } catch {
                snapshot.problems.append("cannot scrape \(endpoint): \(error)")
            }
        }
        if let gateway {
            do {
                if let histogram = try await gateway.scrape().histogram(gatewayHistogram) {
                    snapshot.gateway = histogram
                } else {
                    snapshot.problems.append("\(gateway) has no \(gatewayHistogram) (not exposed by this gateway build?)")
                }
            } catch {
                snapshot.problems.append("cannot scrape \(gateway): \(error)")
            }
        }
        return snapshot
    }
}

extension HistogramSnapshot {
    /// Two processes' histograms with the same buckets, added.
    func adding(_ other: HistogramSnapshot) -> HistogramSnapshot {
        let theirs = Dictionary(zip(other.bounds, other.cumulative)) { first, _ in first }
        return HistogramSnapshot(
            bounds: bounds,
            cumulative: zip(bounds, cumulative).map { bound, value in value + (theirs[bound] ?? 0) },
            sum: sum + other.sum,
            count: count + other.count
        )
    }
}

/// Where an event's time goes: cumulative latency from the worker's emit at each hop, from the relay's
/// and the gateway's histograms (scraped before and after the window) and the client's own samples.
struct StageSplit {
    struct Stage {
        var name: String
        var count: Double
        var mean: Double?
        var p50: Double?
        var p90: Double?
        var p99: Double?
    }

    var relay: Stage?
    var gateway: Stage?
    var client: Stage?
    var problems: [String]

    init(before: StageSnapshot, after: StageSnapshot, client: LatencySummary?) {
        func stage(_ name: String, _ later: HistogramSnapshot?, _ earlier: HistogramSnapshot?) -> Stage? {
            guard let later else { return nil }
            let window = later.subtracting(earlier)
            // Histograms are in seconds; everything here is in milliseconds.
            return Stage(
                name: name,
                count: window.count,
                mean: window.mean.map { $0 * 1000 },
                p50: window.quantile(0.5).map { $0 * 1000 },
                p90: window.quantile(0.9).map { $0 * 1000 },
                p99: window.quantile(0.99).map { $0 * 1000 }
            )
        }
        relay = stage("worker → relay publish (relay histogram)", after.relay, before.relay)
        gateway = stage("worker → gateway write (gateway histogram)", after.gateway, before.gateway)
        self.client = client.map {
            Stage(name: "worker → client receipt (this client)", count: Double($0.count), mean: $0.mean, p50: $0.p50, p90: $0.p90, p99: $0.p99)
        }
        problems = Array(Set(before.problems + after.problems)).sorted()
    }

    /// Mean time of the hop between two cumulative stages.
    private static func hop(_ from: Stage?, _ to: Stage?) -> Double? {
        guard let a = from?.mean, let b = to?.mean else { return nil }
        return b - a
    }

    func print() {
        Swift.print("")
        Swift.print("per-stage split (cumulative from the worker's emit; percentiles of the histograms interpolated within buckets):")
        let header = [
            Format.padded("stage", 44), Format.padded("events", 9, right: true), Format.padded("mean", 10, right: true),
            Format.padded("p50", 10, right: true), Format.padded("p90", 10, right: true), Format.padded("p99", 10, right: true),
        ]
        Swift.print("  " + header.joined(separator: " "))
        for stage in [relay, gateway, client].compactMap({ $0 }) {
            func ms(_ value: Double?) -> String { Format.padded(value.map(Format.milliseconds) ?? "-", 10, right: true) }
            Swift.print(
                "  "
                    + [
                        Format.padded(stage.name, 44), Format.padded(Format.grouped(stage.count), 9, right: true), ms(stage.mean), ms(stage.p50),
                        ms(stage.p90), ms(stage.p99),
                    ].joined(separator: " ")
            )
        }
        let hops = [
            ("worker → relay publish", relay?.mean),
            ("relay publish → gateway write", Self.hop(relay, gateway)),
            ("gateway write → client receipt", Self.hop(gateway, client)),
        ].compactMap { name, value in value.map { "\(name) \(Format.milliseconds($0))" } }
        if !hops.isEmpty {
            Swift.print("  mean per hop: " + hops.joined(separator: "; "))
        }
        for problem in problems {
            Swift.print("  (\(problem))")
        }
    }

    func record(into sink: inout ResultSink, stage: String) {
        if let relay {
            if let mean = relay.mean { sink.add(stage, "split.relay.mean", "worker → relay publish, mean", mean, .milliseconds) }
            if let p50 = relay.p50 { sink.add(stage, "split.relay.p50", "worker → relay publish, p50", p50, .milliseconds) }
            if let p99 = relay.p99 { sink.add(stage, "split.relay.p99", "worker → relay publish, p99", p99, .milliseconds) }
        }
        if let gateway {
            if let mean = gateway.mean { sink.add(stage, "split.gateway.mean", "worker → gateway write, mean", mean, .milliseconds) }
            if let p50 = gateway.p50 { sink.add(stage, "split.gateway.p50", "worker → gateway write, p50", p50, .milliseconds) }
            if let p99 = gateway.p99 { sink.add(stage, "split.gateway.p99", "worker → gateway write, p99", p99, .milliseconds) }
        }
        if let client, let mean = client.mean {
            sink.add(stage, "split.client.mean", "worker → client receipt, mean", mean, .milliseconds)
        }
        if let hop = Self.hop(relay, gateway) {
            sink.add(stage, "split.hop.relay_gateway", "hop relay publish → gateway write, mean", hop, .milliseconds)
        }
        if let hop = Self.hop(gateway, client) {
            sink.add(stage, "split.hop.gateway_client", "hop gateway write → client receipt, mean", hop, .milliseconds)
        }
    }
}
