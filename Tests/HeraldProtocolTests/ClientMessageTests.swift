import Foundation
import HeraldProtocol
import Testing

@Suite struct ClientMessageTests {
    private func decode(_ text: String) -> Result<ClientMessage, ProtocolError> {
        do {
            return .success(try ClientMessage.decode(Array(text.utf8)))
        } catch {
            return .failure(error)
        }
    }

    @Test func decodesEveryMessageType() throws {
        #expect(try decode(#"{"type":"user_message","content":"hi"}"#).get() == .userMessage(.init(content: "hi")))
        #expect(
            try decode(#"{"type":"user_message","content":"hi","thread_id":"t1","client_msg_id":"c1"}"#).get()
                == .userMessage(.init(content: "hi", threadID: "t1", clientMessageID: "c1"))
        )
        #expect(try decode(#"{"type":"cancel_run","run_id":"r1"}"#).get() == .cancelRun(runID: "r1"))
        #expect(try decode(#"{"type":"resume","thread_id":"t1","after_seq":7}"#).get() == .resume(.init(threadID: "t1", afterSeq: 7)))
        #expect(
            try decode(#"{"type":"resume","thread_id":"t1","after_seq":0,"epoch":"e1"}"#).get()
                == .resume(.init(threadID: "t1", afterSeq: 0, epoch: "e1"))
        )
        #expect(try decode(#"{"type":"ping"}"#).get() == .ping)
    }

    @Test func roundTripsThroughItsOwnEncoding() throws {
        let messages: [ClientMessage] = [
            .userMessage(.init(content: "what is (17*3)+4?", threadID: "t", clientMessageID: "c")),
            .cancelRun(runID: "run_1"),
            .resume(.init(threadID: "t", afterSeq: 12, epoch: "ep")),
            .ping,
        ]
        for message in messages {
            #expect(try decode(message.encoded()).get() == message)
        }
    }

    @Test(arguments: [
        ("{not json", ErrorCode.badRequest, "malformed JSON"),
        ("[1,2]", .badRequest, "JSON object"),
        ("\"text\"", .badRequest, "JSON object"),
        (#"{"content":"x"}"#, .badRequest, "'type'"),
        (#"{"type":7}"#, .badRequest, "'type'"),
        (#"{"type":"launch_rockets"}"#, .unknownType, "launch_rockets"),
        (#"{"type":"user_message"}"#, .badRequest, "'content'"),
        (#"{"type":"user_message","content":5}"#, .badRequest, "'content'"),
        (#"{"type":"user_message","content":"x","thread_id":12}"#, .badRequest, "'thread_id'"),
        (#"{"type":"cancel_run"}"#, .badRequest, "'run_id'"),
        (#"{"type":"resume","thread_id":"t"}"#, .badRequest, "'after_seq'"),
        (#"{"type":"resume","thread_id":"t","after_seq":"3"}"#, .badRequest, "'after_seq'"),
        (#"{"type":"resume","thread_id":"t","after_seq":1.5}"#, .badRequest, "'after_seq'"),
        (#"{"type":"resume","thread_id":"t","after_seq":-1}"#, .badRequest, "'after_seq'"),
        (#"{"type":"resume","thread_id":"t","after_seq":true}"#, .badRequest, "'after_seq'"),
        (#"{"type":"user_message","content":null}"#, .badRequest, "'content'"),
        (#"{"type":"resume","thread_id":"t","after_seq":99999999999999999999999}"#, .badRequest, "after_seq"),
    ])
    func rejectsBadFramesWithTheDocumentedCode(frame: String, code: ErrorCode, mention: String) {
        guard case .failure(let error) = decode(frame) else {
            Issue.record("\(frame) was accepted")
            return
        }
        #expect(error.code == code)
        #expect(error.message.contains(mention), "\(error.message) should mention \(mention)")
    }

    @Test func echoesAtMostSixtyFourScalarsOfAnUnknownType() throws {
        // One character: "e" followed by 10,000 combining accents.
        let type = "e" + String(repeating: "\u{0301}", count: 10_000)
        let frame = String(decoding: try JSONEncoder().encode(["type": type]), as: UTF8.self)
        guard case .failure(let error) = decode(frame) else {
            Issue.record("an unknown type was accepted")
            return
        }
        #expect(error.code == .unknownType)
        #expect(error.message.unicodeScalars.count < 120)
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = Array(#"{"type":"user_message","content":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        #expect(throws: ProtocolError.self) { try ClientMessage.decode(bytes) }
    }

    @Test func survivesDeepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let result = decode(#"{"type":"ping","x":"# + deep + "}")
        // Either accepted (extra fields are ignored) or refused as bad_request: never a crash.
        if case .failure(let error) = result {
            #expect(error.code == .badRequest)
        }
    }
}
