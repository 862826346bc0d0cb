import Foundation

/// Writes numbers the way a person reads them: `55`, `0.5`, `0.3` (not `0.30000000000000004`).
public enum NumberText {
    /// Whole numbers below 10^15 print without a fraction; others with at most 12 significant digits,
    /// which hides binary rounding noise such as 0.1 + 0.2.
    public static func format(_ value: Double) -> String {
        if value == 0 { return "0" }  // also turns -0 into 0
        if value.rounded() == value, abs(value) < 1e15 {
            return String(Int64(value))
        }
        return String(format: "%.12g", value)
    }

    /// The value rounded to what `format` shows, so a tool result and its text agree.
    public static func rounded(_ value: Double) -> Double {
        Double(format(value)) ?? value
    }
}
