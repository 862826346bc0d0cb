import Foundation
import HeraldProtocol

/// Wall-clock time as seconds since 1970, the scale of the frames' `timestamp` (the worker's emit time).
///
/// Latency is measured across processes on one machine, so all sides read the same clock.
enum WallClock {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// Reads `timestamp` values (`2025-11-29T15:04:05.123Z`, DESIGN.md section 4) fast, without a formatter.
enum FrameTimestamp {
    /// Seconds since 1970, or nil when the text is not in the frames' format.
    static func parse(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { parse(bytes: UnsafeRawBufferPointer($0)) } ?? HeraldTimestamp.parse(text)?.timeIntervalSince1970
    }

    /// The fixed layout `YYYY-MM-DDTHH:MM:SS.fffZ` (1 to 9 fraction digits); nil for anything else.
    static func parse(bytes: UnsafeRawBufferPointer) -> Double? {
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
            let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == 0x2E {
            index += 1
            var scale = 0.1
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
        }
        guard index < bytes.count, bytes[index] == 0x5A else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// Finds values in an event frame's raw JSON text without decoding it, for hot paths.
enum FrameScanner {
    /// The `seq` of a frame as the relay writes it (`{"seq":N,...`), or nil.
    static func seq(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let prefix: StaticString = #"{"seq":"#
        let length = prefix.utf8CodeUnitCount
        guard bytes.count > length else { return nil }
        for index in 0..<length where bytes[index] != prefix.utf8Start[index] { return nil }
        var value = 0
        var index = length
        var any = false
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            value = value * 10 + Int(bytes[index] - 0x30)
            index += 1
            any = true
        }
        return any ? value : nil
    }

    /// The emit time in a frame's `"timestamp":"…"`, or nil.
    static func timestamp(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard let start = find(#""timestamp":""#, in: bytes) else { return nil }
        guard start < bytes.count else { return nil }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
        return FrameTimestamp.parse(bytes: rest)
    }

    /// The index just past the first occurrence of `needle`.
    static func find(_ needle: StaticString, in bytes: UnsafeRawBufferPointer) -> Int? {
        let count = needle.utf8CodeUnitCount
        guard count > 0, bytes.count >= count else { return nil }
        let first = needle.utf8Start[0]
        var index = 0
        let last = bytes.count - count
        outer: while index <= last {
            if bytes[index] == first {
                for offset in 1..<count where bytes[index + offset] != needle.utf8Start[offset] {
                    index += 1
                    continue outer
                }
                return index + count
            }
            index += 1
        }
        return nil
    }
}
