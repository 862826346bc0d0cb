import Foundation
import HeraldProtocol

/// Tells the current date and time, in UTC or a given IANA time zone.
public struct ClockTool: Tool {
    public let name = "clock"
    public let description =
        "Tells the current date and time. Optionally in an IANA time zone such as Europe/Paris (city names like Tokyo work too); UTC otherwise."
    public let parameters: JSONValue = [
        "type": "object",
        "properties": [
            "time_zone": [
                "type": "string",
                "description": "IANA time zone, e.g. America/New_York; defaults to UTC",
            ]
        ],
        "additionalProperties": false,
    ]

    private let now: @Sendable () -> Date

    /// - Parameter now: the clock to read; tests pass a fixed one.
    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let requested = try arguments.stringArgument("time_zone")?.trimmingCharacters(in: .whitespaces)
        let zone: TimeZone
        if let requested, !requested.isEmpty {
            guard let resolved = TimeZoneName.resolve(requested) else {
                throw ToolError("unknown time zone '\(requested)'; use an IANA name such as Europe/Paris")
            }
            zone = resolved
        } else {
            zone = .gmt
        }
        let date = now()
        let offset = zone.secondsFromGMT(for: date)
        return [
            "time_zone": .string(TimeZoneName.identifier(of: zone)),
            "iso8601": .string(date.formatted(Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: zone))),
            "date": .string(Self.dateText(date, in: zone)),
            "time": .string(Self.timeText(date, in: zone)),
            "utc_offset": .string(Self.offsetText(offset)),
        ]
    }

    static func dateText(_ date: Date, in zone: TimeZone) -> String {
        let style = Date.VerbatimFormatStyle(
            format: "\(weekday: .wide), \(day: .defaultDigits) \(month: .wide) \(year: .defaultDigits)",
            locale: Locale(identifier: "en_US_POSIX"),
            timeZone: zone,
            calendar: Calendar(identifier: .gregorian)
        )
        return date.formatted(style)
    }

    static func timeText(_ date: Date, in zone: TimeZone) -> String {
        let style = Date.VerbatimFormatStyle(
            format: "\(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits)",
            locale: Locale(identifier: "en_US_POSIX"),
            timeZone: zone,
            calendar: Calendar(identifier: .gregorian)
        )
        return date.formatted(style)
    }

    static func offsetText(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        let hours = String(minutes / 60)
        let rest = String(minutes % 60)
        return sign + String(repeating: "0", count: 2 - hours.count) + hours + ":" + String(repeating: "0", count: 2 - rest.count) + rest
    }
}
