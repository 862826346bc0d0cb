import Foundation
import HeraldProtocol
import NIOCore
import Testing

@testable import Gateway

/// The gateway reads each live frame's seq, epoch and emit time without decoding it; these hold the scan to what
/// the decoder reads, and send every other shape through the decoder.
@Suite struct ThreadFrameTests {
    private static func event(_ payload: EventPayload, timestamp: String = "2026-12-07T20:31:02.123Z") -> AgentEvent {
        AgentEvent(threadID: "t-1", runID: "r-1", agentName: "assistant", timestamp: timestamp, payload: payload)
    }

    private static func frame(seq: Int, epoch: String, _ event: AgentEvent) -> ByteBuffer {
        ByteBuffer(string: EventFrame.splice(seq: seq, epoch: epoch, eventJSON: event.encodedJSON()))
    }

    @Test func aSplicedFrameIsReadWithoutTheDecoderAndAgreesWithIt() throws {
        let text = Self.frame(seq: 42, epoch: "e1a2", Self.event(.partialResult(.init(content: "hello", isComplete: false))))
        let scanned = try #require(text.withUnsafeReadableBytes(ThreadFrame.scanHeader))
        #expect(scanned.seq == 42)
        #expect(scanned.epoch == "e1a2")
        let decoded = try EventFrame.decode(String(buffer: text))
        #expect(scanned.emittedAt == HeraldTimestamp.secondsSince1970(decoded.event.timestamp))
        let frame = try #require(ThreadFrame(text))
        #expect(frame.seq == 42 && frame.epoch == "e1a2")
        let expected = try #require(HeraldTimestamp.secondsSince1970("2026-12-07T20:31:02.123Z"))
        #expect(abs(try #require(frame.emittedAt).timeIntervalSince1970 - expected) < 1e-6)
    }

    @Test func aTimestampKeyInsideThePayloadIsNotTakenForTheEvents() throws {
        let arguments: JSONValue = .object(["timestamp": .string("1999-01-01T00:00:00.000Z")])
        let event = Self.event(.toolExecuting(.init(toolCallID: "c", toolName: "clock", arguments: arguments)))
        let text = Self.frame(seq: 1, epoch: "e", event)
        let scanned = try #require(text.withUnsafeReadableBytes(ThreadFrame.scanHeader))
        #expect(scanned.emittedAt == HeraldTimestamp.secondsSince1970("2026-12-07T20:31:02.123Z"))
    }

    @Test func theTopLevelTimestampIsFoundAfterAPayloadThatHoldsOne() throws {
        let text =
            #"{"seq":5,"epoch":"e","payload":{"a":[{"timestamp":"1999-01-01T00:00:00Z"}],"s":"\"timestamp\":\"x"},"timestamp":"2026-12-07T20:31:02.123Z","type":"tool_executing"}"#
        let scanned = try #require(ByteBuffer(string: text).withUnsafeReadableBytes(ThreadFrame.scanHeader))
        #expect(scanned.seq == 5)
        #expect(scanned.emittedAt == HeraldTimestamp.secondsSince1970("2026-12-07T20:31:02.123Z"))
    }

    @Test func aFrameWithoutATimestampHasNoEmitTime() throws {
        let text = #"{"seq":5,"epoch":"e","payload":{"timestamp":"1999-01-01T00:00:00Z"}}"#
        let scanned = try #require(ByteBuffer(string: text).withUnsafeReadableBytes(ThreadFrame.scanHeader))
        #expect(scanned.emittedAt == nil)
    }

    @Test func textInsideStringsCannotForgeTheHeader() throws {
        let event = Self.event(.partialResult(.init(content: #"{"seq":9,"epoch":"x","timestamp":"1999-01-01T00:00:00Z"}"#, isComplete: false)))
        let frame = try #require(ThreadFrame(Self.frame(seq: 3, epoch: "e", event)))
        #expect(frame.seq == 3 && frame.epoch == "e")
        let expected = try #require(HeraldTimestamp.secondsSince1970("2026-12-07T20:31:02.123Z"))
        #expect(abs(try #require(frame.emittedAt).timeIntervalSince1970 - expected) < 1e-6)
    }

    @Test(arguments: [
        #"{"type":"token","seq":7,"epoch":"e"}"#,  // another key order
        #"{"seq":7,"epoch":"e\"q","type":"x"}"#,  // an escaped epoch
        #"{"seq": 7,"epoch":"e"}"#,  // whitespace
    ])
    func otherShapesGoThroughTheDecoder(_ text: String) throws {
        #expect(ByteBuffer(string: text).withUnsafeReadableBytes(ThreadFrame.scanHeader) == nil)
        let frame = try #require(ThreadFrame(ByteBuffer(string: text)))
        #expect(frame.seq == 7)
    }

    @Test(arguments: [
        #"{"seq":"#, #"{"seq":1,"epoch":"e"#, #"{"seq":,"epoch":"e"}"#, "", "not json", #"{"seq":99999999999999999999999,"epoch":"e"}"#,
    ])
    func truncatedOrMalformedFramesAreRefused(_ text: String) {
        #expect(ThreadFrame(ByteBuffer(string: text)) == nil)
    }

    @Test func randomEventsScanAsTheyDecode() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let seq = Int.random(in: 0...Int(Int32.max), using: &generator)
            let milliseconds = Int.random(in: 0...999, using: &generator)
            let timestamp = String(
                format: "2026-%02d-%02dT%02d:%02d:%02d.%03dZ",
                Int.random(in: 1...12),
                Int.random(in: 1...28),
                Int.random(in: 0...23),
                Int.random(in: 0...59),
                Int.random(in: 0...59),
                milliseconds
            )
            let content = String((0..<Int.random(in: 0...40)).map { _ in "ab\"\\{}:,\n é😀".randomElement()! })
            let text = Self.frame(
                seq: seq,
                epoch: "ep\(seq % 97)",
                Self.event(.partialResult(.init(content: content, isComplete: false)), timestamp: timestamp)
            )
            let scanned = try #require(text.withUnsafeReadableBytes(ThreadFrame.scanHeader))
            let decoded = try EventFrame.decode(String(buffer: text))
            #expect(scanned.seq == decoded.seq)
            #expect(scanned.epoch == decoded.epoch)
            #expect(scanned.emittedAt == HeraldTimestamp.secondsSince1970(decoded.event.timestamp))
        }
    }
}
