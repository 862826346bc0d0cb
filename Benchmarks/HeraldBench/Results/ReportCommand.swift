import ArgumentParser
import Foundation

/// `herald-bench report`: one table of every figure in a results file.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Prints one table of every figure in a --results file, with its target and its ratio to redis-benchmark.",
        discussion: """
            The ceiling rows come from `herald-bench ceiling`; a figure marked with a ceiling (publish or xadd) is \
            shown as a share of it. Exits with status 1 when a target was missed and --strict is given.
            """
    )

    @Argument(help: "The results file (JSON lines) the other subcommands appended to with --results.")
    var file: String

    @Flag(help: "Exit with status 1 when any target is missed.")
    var strict = false

    func run() throws {
        let results = try ResultSink.read(file)
        let missed = Self.printTable(results)
        if strict, missed > 0 { throw ExitCode(1) }
    }

    /// Prints the table; returns how many targets were missed.
    @discardableResult
    static func printTable(_ results: [BenchResult]) -> Int {
        let ceilings = Dictionary(results.filter { $0.key.hasPrefix("ceiling.") }.map { ($0.key.dropFirst("ceiling.".count).description, $0.value) })
        { _, last in last }
        let header = ["stage", "figure", "measured", "target", "", "vs redis-benchmark"]
        var rows: [[String]] = []
        var met = 0
        var missed = 0
        for result in results {
            let ceilingValue = result.ceiling.flatMap { ceilings[$0] }
            let ratio = ceilingValue.map { result.value / $0 }
            var targetText = ""
            var status = ""
            if let target = result.target {
                let ok: Bool?
                switch target.kind {
                case .atMost:
                    targetText = "≤ " + Format.value(target.value, result.unit)
                    ok = result.value <= target.value
                case .atLeast:
                    targetText = "≥ " + Format.value(target.value, result.unit)
                    ok = result.value >= target.value
                case .ceilingRatioAtLeast:
                    targetText = "≥ \(Format.percent(target.value)) of \(result.ceiling?.uppercased() ?? "?")"
                    ok = ratio.map { $0 >= target.value }
                }
                switch ok {
                case true?:
                    status = "met"
                    met += 1
                case false?:
                    status = "MISSED"
                    missed += 1
                case nil: status = "n/a"
                }
            }
            let ratioText = ratio.map { "\(Format.percent($0)) of \(result.ceiling?.uppercased() ?? "")" } ?? ""
            rows.append([result.stage, result.label, Format.value(result.value, result.unit), targetText, status, ratioText])
        }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                Format.padded(cell, widths[index], right: index == 2)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        print(line(header))
        print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        var previousStage: String?
        for (row, result) in zip(rows, results) {
            if let previousStage, previousStage.split(separator: " ").first != result.stage.split(separator: " ").first {
                print("")
            }
            previousStage = result.stage
            print(line(row))
        }
        let notes = results.compactMap { result in result.note.map { "\(result.label): \($0)" } }
        if !notes.isEmpty {
            print("")
            for note in notes { print("note — \(note)") }
        }
        print("")
        print("targets: \(met) met, \(missed) missed")
        return missed
    }
}
