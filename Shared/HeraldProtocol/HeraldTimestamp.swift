import Foundation

/// UTC timestamps in ISO 8601 with milliseconds (`2026-11-29T15:04:05.123Z`), as every frame carries them.
///
/// Every event is stamped when emitted and read back by the relay and the gateway for their latency
/// metrics, so the fixed layout is written and read by hand; a formatter costs microseconds per call.
public enum HeraldTimestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    public static func now() -> String { format(Date()) }

    /// The date truncated to the millisecond, as Foundation's ISO 8601 style writes it.
    public static func format(_ date: Date) -> String {
        // To the microsecond first: a date built from whole milliseconds is often stored a hair below them.
        let microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        return format(millisecondsSince1970: microseconds.floorDivided(by: 1000).quotient)
    }

    static func format(millisecondsSince1970 milliseconds: Int64) -> String {
        let (seconds, millisecond) = milliseconds.floorDivided(by: 1000)
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = civil(fromDays: Int(days))
        guard (0...9999).contains(year) else { return date(millisecondsSince1970: milliseconds).formatted(style) }
        let second = Int(secondOfDay)
        var bytes = [UInt8](repeating: 0x5A, count: 24)
        func put(_ value: Int, at offset: Int, width: Int) {
            var value = value
            for index in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[index] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
                value /= 10
            }
        }
        put(year, at: 0, width: 4)
        bytes[4] = 0x2D
        put(month, at: 5, width: 2)
        bytes[7] = 0x2D
        put(day, at: 8, width: 2)
        bytes[10] = 0x54
        put(second / 3600, at: 11, width: 2)
        bytes[13] = 0x3A
        put(second / 60 % 60, at: 14, width: 2)
        bytes[16] = 0x3A
        put(second % 60, at: 17, width: 2)
        bytes[19] = 0x2E
        put(Int(millisecond), at: 20, width: 3)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func parse(_ text: String) -> Date? {
        if let seconds = secondsSince1970(text) {
            return Date(timeIntervalSince1970: seconds)
        }
        return try? style.parse(text)
    }

    /// Seconds since 1970 of a timestamp in the frames' layout (1 to 9 fraction digits), or nil for any other text.
    public static func secondsSince1970(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { secondsSince1970(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// As `secondsSince1970(_:)`, on the bytes of the text; anything after the closing `Z` is ignored.
    public static func secondsSince1970(bytes: UnsafeRawBufferPointer) -> Double? {
        guard bytes.count >= 20 else { return nil }
        func digits(_ start: Int, _ count: Int) -> Int? {
            var value = 0
            for index in start..<(start + count) {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A, bytes[16] == 0x3A,
            let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
            let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == 0x2E {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start, index - start <= 9 else { return nil }
        }
        guard index < bytes.count, bytes[index] == 0x5A else { return nil }
        let days = days(fromYear: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction
    }

    private static func date(millisecondsSince1970 milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func days(fromYear year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    /// Quotient and remainder rounded toward negative infinity, so times before 1970 split correctly.
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = self / divisor
        let remainder = self % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
