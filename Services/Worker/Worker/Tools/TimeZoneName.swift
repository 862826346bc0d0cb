import Foundation

/// Turns what people and models write for a time zone into a `TimeZone`.
public enum TimeZoneName {
    /// The zone's IANA name, with UTC for the zero-offset zone Foundation calls GMT.
    public static func identifier(of zone: TimeZone) -> String {
        zone.identifier == "GMT" ? "UTC" : zone.identifier
    }

    /// An IANA identifier in any case (`europe/paris`), an abbreviation (`UTC`, `GMT`, `CET`),
    /// or a city of an IANA identifier (`Tokyo`, `new york`); nil when none matches.
    public static func resolve(_ name: String) -> TimeZone? {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 64 else { return nil }
        let upper = trimmed.uppercased()
        if upper == "UTC" || upper == "GMT" || upper == "Z" { return .gmt }
        let known = TimeZone.knownTimeZoneIdentifiers
        if let exact = known.first(where: { $0.caseInsensitiveCompare(trimmed) == .orderedSame }) {
            return TimeZone(identifier: exact)
        }
        let city = trimmed.lowercased().replacingOccurrences(of: " ", with: "_")
        if let byCity = known.first(where: { $0.lowercased().split(separator: "/").last.map(String.init) == city }) {
            return TimeZone(identifier: byCity)
        }
        if trimmed.count <= 5, trimmed.allSatisfy(\.isLetter), let abbreviated = TimeZone(abbreviation: upper) {
            return abbreviated
        }
        return nil
    }
}
