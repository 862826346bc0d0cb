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
        return HeraldTimestamp.secondsSince1970(bytes: rest)
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
