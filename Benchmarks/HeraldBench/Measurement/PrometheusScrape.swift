import ArgumentParser
import Foundation

/// A `/metrics` endpoint on this machine, e.g. `http://127.0.0.1:9092/metrics`.
struct MetricsEndpoint: Sendable, CustomStringConvertible, ExpressibleByArgument {
    var port: Int
    var path: String

    init?(argument: String) {
        guard let url = URLComponents(string: argument), let port = url.port else { return nil }
        guard ["127.0.0.1", "localhost", "::1", "[::1]"].contains(url.host ?? "") else { return nil }
        self.port = port
        self.path = url.path.isEmpty ? "/metrics" : url.path
    }

    init(port: Int, path: String = "/metrics") {
        self.port = port
        self.path = path
    }

    var description: String { "http://127.0.0.1:\(port)\(path)" }

    /// The exposition text.
    func scrape() async throws -> PrometheusText {
        let (status, body) = try await PlainHTTP.get(port: port, path: path)
        guard status == 200 else { throw ValidationError("GET \(self) answered \(status)") }
        return PrometheusText(body)
    }
}

/// A parsed Prometheus text exposition: every sample line's value, by metric name, summed over label sets
/// (histogram buckets are kept by their `le`).
struct PrometheusText: Sendable {
    private(set) var values: [String: Double] = [:]
    private(set) var buckets: [String: [Double: Double]] = [:]

    init(_ text: String) {
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            // name{labels} value [timestamp]
            let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
            let name = String(line[..<nameEnd])
            var labels = ""
            var rest = line[nameEnd...]
            if rest.first == "{", let close = rest.lastIndex(of: "}") {
                labels = String(rest[rest.index(after: rest.startIndex)..<close])
                rest = rest[rest.index(after: close)...]
            }
            guard let valueText = rest.split(separator: " ").first, let value = Self.number(String(valueText)) else { continue }
            if name.hasSuffix("_bucket"), let le = Self.label("le", in: labels).flatMap(Self.number) {
                buckets[String(name.dropLast("_bucket".count)), default: [:]][le, default: 0] += value
            } else {
                values[name, default: 0] += value
            }
        }
    }

    private static func number(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        default: Double(text)
        }
    }

    private static func label(_ name: String, in labels: String) -> String? {
        for part in labels.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == name else { continue }
            return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        }
        return nil
    }

    func value(_ name: String) -> Double? { values[name] }

    /// The histogram `name` (without `_bucket`), or nil when the exposition lacks it.
    func histogram(_ name: String) -> HistogramSnapshot? {
        guard let bucketCounts = buckets[name] else { return nil }
        let bounds = bucketCounts.keys.sorted()
        return HistogramSnapshot(
            bounds: bounds,
            cumulative: bounds.map { bucketCounts[$0] ?? 0 },
            sum: values[name + "_sum"] ?? 0,
            count: values[name + "_count"] ?? (bounds.last.flatMap { bucketCounts[$0] } ?? 0)
        )
    }
}

/// A Prometheus histogram at one moment: cumulative bucket counts by upper bound, sum and count.
struct HistogramSnapshot: Sendable {
    var bounds: [Double]
    var cumulative: [Double]
    var sum: Double
    var count: Double

    /// What was observed between `earlier` and this snapshot (both of one process's histogram).
    func subtracting(_ earlier: HistogramSnapshot?) -> HistogramSnapshot {
        guard let earlier else { return self }
        let before = Dictionary(zip(earlier.bounds, earlier.cumulative)) { first, _ in first }
        return HistogramSnapshot(
            bounds: bounds,
            cumulative: zip(bounds, cumulative).map { bound, value in value - (before[bound] ?? 0) },
            sum: sum - earlier.sum,
            count: count - earlier.count
        )
    }

    var mean: Double? { count > 0 ? sum / count : nil }

    /// The q-quantile, interpolated linearly inside its bucket as Prometheus's `histogram_quantile` does.
    /// A quantile in the `+Inf` bucket is reported as the highest finite bound.
    func quantile(_ q: Double) -> Double? {
        guard count > 0, let total = cumulative.last, total > 0 else { return nil }
        let rank = q * total
        var lowerBound = 0.0
        var lowerCount = 0.0
        for (bound, value) in zip(bounds, cumulative) {
            if value >= rank {
                guard bound.isFinite else { return lowerBound }
                let inBucket = value - lowerCount
                guard inBucket > 0 else { return bound }
                return lowerBound + (bound - lowerBound) * (rank - lowerCount) / inBucket
            }
            lowerBound = bound.isFinite ? bound : lowerBound
            lowerCount = value
        }
        return bounds.last(where: \.isFinite)
    }
}

/// `GET` over a plain socket on 127.0.0.1, on a thread of its own: the blocking calls must not hold one of the
/// concurrency pool's threads (two on this machine) while the benchmark's sockets need them.
enum PlainHTTP {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func get(port: Int, path: String) async throws -> (status: Int, body: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try blockingGet(port: port, path: path) })
            }.start()
        }
    }

    private static func blockingGet(port: Int, path: String) throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "cannot connect to 127.0.0.1:\(port)") }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        let text = String(decoding: response, as: UTF8.self)
        let parts = text.prefix { $0 != "\r" }.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "no HTTP response from 127.0.0.1:\(port)") }
        guard let headEnd = text.range(of: "\r\n\r\n") else { return (status, "") }
        let head = text[..<headEnd.lowerBound].lowercased()
        var body = String(text[headEnd.upperBound...])
        if head.contains("transfer-encoding: chunked") { body = dechunk(body) }
        return (status, body)
    }

    /// Joins a chunked body's chunks.
    private static func dechunk(_ body: String) -> String {
        var out = ""
        var rest = Substring(body)
        while let lineEnd = rest.range(of: "\r\n") {
            guard let size = Int(rest[..<lineEnd.lowerBound].split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            let utf8 = rest.utf8
            guard let end = utf8.index(start, offsetBy: size, limitedBy: utf8.endIndex) else { break }
            out += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        return out
    }
}
