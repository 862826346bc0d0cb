import Foundation

/// Number formatting for the summaries and the table.
enum Format {
    static func grouped(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let whole = Int(value.rounded())
        let digits = String(abs(whole))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (whole < 0 ? "-" : "") + out
    }

    static func milliseconds(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        return value < 10 ? String(format: "%.2f ms", value) : String(format: "%.1f ms", value)
    }

    static func percent(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "-" }
        return ratio < 0.1 ? String(format: "%.1f%%", ratio * 100) : String(format: "%.0f%%", ratio * 100)
    }

    static func value(_ value: Double, _ unit: BenchResult.Unit) -> String {
        switch unit {
        case .milliseconds: milliseconds(value)
        case .microseconds: String(format: "%.1f µs", value)
        case .perSecond: "\(grouped(value)) /s"
        case .kibibytes: String(format: "%.1f KiB", value)
        case .mebibytes: String(format: "%.1f MiB", value)
        case .count: grouped(value)
        case .ratio: percent(value)
        }
    }

    static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
        let count = text.count
        guard count < width else { return text }
        let pad = String(repeating: " ", count: width - count)
        return right ? pad + text : text + pad
    }
}
