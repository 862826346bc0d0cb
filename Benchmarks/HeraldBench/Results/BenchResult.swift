import ArgumentParser
import Foundation

/// One measured figure, as a subcommand records it for `report`.
struct BenchResult: Codable, Sendable {
    /// What a figure is held against.
    struct Target: Codable, Sendable {
        enum Kind: String, Codable, Sendable {
            /// The figure must not exceed `value`.
            case atMost
            /// The figure must reach `value`.
            case atLeast
            /// The figure divided by the named redis-benchmark ceiling must reach `value`.
            case ceilingRatioAtLeast
        }

        var kind: Kind
        var value: Double

        static func atMost(_ value: Double) -> Target { Target(kind: .atMost, value: value) }
        static func atLeast(_ value: Double) -> Target { Target(kind: .atLeast, value: value) }
        static func ceilingRatioAtLeast(_ value: Double) -> Target { Target(kind: .ceilingRatioAtLeast, value: value) }
    }

    /// The subcommand (and variant) that measured it, e.g. `load` or `idle 10000`.
    var stage: String
    /// A stable key, e.g. `load.e2e.p99`.
    var key: String
    var label: String
    var value: Double
    var unit: Unit
    var target: Target?
    /// `publish` or `xadd`: the redis-benchmark figure this one is divided by in the table.
    var ceiling: String?
    var note: String?

    enum Unit: String, Codable, Sendable {
        case milliseconds = "ms"
        case microseconds = "µs"
        case perSecond = "/s"
        case kibibytes = "KiB"
        case mebibytes = "MiB"
        case count
        case ratio
    }
}

/// Collects a subcommand's figures and appends them to the `--results` file, if one was given.
struct ResultSink {
    let path: String?
    private(set) var results: [BenchResult] = []

    init(path: String?) {
        self.path = path
    }

    mutating func add(
        _ stage: String,
        _ key: String,
        _ label: String,
        _ value: Double,
        _ unit: BenchResult.Unit,
        target: BenchResult.Target? = nil,
        ceiling: String? = nil,
        note: String? = nil
    ) {
        results.append(BenchResult(stage: stage, key: key, label: label, value: value, unit: unit, target: target, ceiling: ceiling, note: note))
    }

    /// Appends every figure as one JSON line each.
    func write() throws {
        guard let path, !results.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for result in results {
            text += String(decoding: try encoder.encode(result), as: UTF8.self) + "\n"
        }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ValidationError("cannot create \(path)")
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    static func read(_ path: String) throws -> [BenchResult] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let decoder = JSONDecoder()
        return try text.split(whereSeparator: \.isNewline).map { line in
            try decoder.decode(BenchResult.self, from: Data(line.utf8))
        }
    }
}

/// Shared `--results` flag.
struct ResultOptions: ParsableArguments {
    @Option(help: "Append every figure as a JSON line to this file, for `herald-bench report`.")
    var results: String?
}
