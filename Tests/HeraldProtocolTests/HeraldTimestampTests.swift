import Foundation
import HeraldProtocol
import Testing

struct HeraldTimestampTests {
    private static let reference = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    @Test(arguments: [
        0.0, 0.0015, 0.9995, 59.5, 86_399.9995,
        951_782_400.0,  // 2000-02-29
        1_709_164_800.1235,  // 2024-02-29
        1_795_962_245.6785,
        4_102_444_799.9995,  // 2099-12-31
        253_402_300_799.0,  // 9999-12-31T23:59:59
        -1.5, -86_400.0,
        -2_208_988_800.0,  // 1900-01-01
    ])
    func writesWhatFoundationWritesAwayFromMillisecondBoundaries(secondsSince1970: Double) {
        let date = Date(timeIntervalSince1970: secondsSince1970)
        #expect(HeraldTimestamp.format(date) == date.formatted(Self.reference))
    }

    @Test func aDateOnAMillisecondKeepsThatMillisecond() {
        // Foundation truncates 1795962245.678 (stored as …677999…) to .677; the worker's stamp should say .678.
        #expect(HeraldTimestamp.format(Date(timeIntervalSince1970: 1_795_962_245.678)) == "2026-11-29T14:24:05.678Z")
    }

    @Test func readsBackWhatItWritesToTheMillisecond() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let milliseconds = Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &generator)
            // Half a millisecond in, so that rounding of the binary fraction cannot move either formatter across a boundary.
            let date = Date(timeIntervalSince1970: (Double(milliseconds) + 0.5) / 1000)
            let text = HeraldTimestamp.format(date)
            #expect(text == date.formatted(Self.reference))
            let parsed = HeraldTimestamp.secondsSince1970(text)
            #expect(parsed.map { abs($0 * 1000 - Double(milliseconds)) < 0.01 } == true, "\(text) read as \(String(describing: parsed))")
        }
    }

    @Test func readsOtherFractionLengths() {
        #expect(HeraldTimestamp.secondsSince1970("1970-01-01T00:00:01Z") == 1)
        #expect(HeraldTimestamp.secondsSince1970("1970-01-01T00:00:01.5Z") == 1.5)
        #expect(HeraldTimestamp.secondsSince1970("1970-01-01T00:00:01.123456789Z").map { abs($0 - 1.123456789) < 1e-9 } == true)
    }

    @Test(arguments: [
        "", "2026-11-29", "2026-11-29T15:04:05.123", "2026-11-29T15:04:05.123+01:00", "2026-13-29T15:04:05.123Z",
        "2026-11-29T25:04:05.123Z", "2026-11-29 15:04:05.123Z", "2026-11-29T15:04:05.Z", "2026-11-29T15:04:05.1234567890Z",
        "2O26-11-29T15:04:05.123Z", "2026-11-29T15:04:05,123Z",
    ])
    func refusesAnythingElse(text: String) {
        #expect(HeraldTimestamp.secondsSince1970(text) == nil)
    }
}
