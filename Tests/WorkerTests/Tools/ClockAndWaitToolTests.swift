import Foundation
import HeraldProtocol
import Testing

@testable import Worker

@Suite("Clock and wait tools")
struct ClockAndWaitToolTests {
    private let context = ToolContext(runID: "r", threadID: "t", userID: "u", toolCallID: "c", logger: TestSupport.logger)
    // 2025-01-15T12:30:00Z, a Wednesday.
    private let fixed = Date(timeIntervalSince1970: 1_736_944_200)

    @Test("the clock tells UTC by default and any IANA zone on request")
    func clock() async throws {
        let clock = ClockTool(now: { [fixed] in fixed })
        let utc = try await clock.run(arguments: [:], context: context)
        #expect(utc["time"] == "12:30")
        #expect(utc["date"] == "Wednesday, 15 January 2025")
        #expect(utc["utc_offset"] == "+00:00")
        let tokyo = try await clock.run(arguments: ["time_zone": "Asia/Tokyo"], context: context)
        #expect(tokyo["time_zone"] == "Asia/Tokyo")
        #expect(tokyo["time"] == "21:30")
        #expect(tokyo["utc_offset"] == "+09:00")
        let newYork = try await clock.run(arguments: ["time_zone": "new york"], context: context)
        #expect(newYork["time_zone"] == "America/New_York")
        #expect(newYork["time"] == "07:30")
    }

    @Test("an unknown time zone is a tool error")
    func unknownZone() async {
        await #expect(throws: ToolError("unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Paris")) {
            try await ClockTool().run(arguments: ["time_zone": "Mars/Olympus"], context: context)
        }
    }

    @Test("wait refuses more than 300 seconds and negative waits")
    func waitBounds() async throws {
        let wait = WaitTool()
        await #expect(throws: ToolError("seconds must be between 0 and 300, not 301")) {
            try await wait.run(arguments: ["seconds": 301], context: context)
        }
        await #expect(throws: ToolError("seconds must be between 0 and 300, not -1")) {
            try await wait.run(arguments: ["seconds": -1], context: context)
        }
        let result = try await wait.run(arguments: ["seconds": 0], context: context)
        #expect(result["waited_seconds"] == 0)
        #expect(wait.timeout == .seconds(310))
    }

    @Test("wait ends as soon as its task is cancelled")
    func waitCancels() async {
        let context = self.context
        let task = Task { try await WaitTool().run(arguments: ["seconds": 300], context: context) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
