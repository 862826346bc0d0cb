import Testing

@testable import Worker

@Suite("Server-sent event parser")
struct ServerSentEventParserTests {
    private func parse(_ pieces: [[UInt8]], maximumLineBytes: Int = 1 << 20) throws -> [ServerSentEvent] {
        var parser = ServerSentEventParser(maximumLineBytes: maximumLineBytes)
        var events: [ServerSentEvent] = []
        for piece in pieces { events += try parser.feed(piece) }
        return events + parser.finish()
    }

    private func parse(_ text: String) throws -> [ServerSentEvent] {
        try parse([Array(text.utf8)])
    }

    @Test("LF, CRLF and CR line ends give the same events")
    func lineEnds() throws {
        let expected = [ServerSentEvent(data: #"{"a":1}"#), ServerSentEvent(data: "[DONE]")]
        #expect(try parse("data: {\"a\":1}\n\ndata: [DONE]\n\n") == expected)
        #expect(try parse("data: {\"a\":1}\r\n\r\ndata: [DONE]\r\n\r\n") == expected)
        #expect(try parse("data: {\"a\":1}\r\rdata: [DONE]\r\r") == expected)
    }

    @Test("a transcript split at every byte, or between any two bytes, gives the same events")
    func splitAnywhere() throws {
        let transcript =
            "data: {\"content\":\"Caf\\u00e9 \\\"é\\\" ☕🙂\"}\r\n\r\n: keep-alive\r\n\r\ndata: second\r\ndata: line\r\n\r\ndata: [DONE]\r\n\r\n"
        let bytes = Array(transcript.utf8)
        let whole = try parse([bytes])
        #expect(
            whole == [
                ServerSentEvent(data: "{\"content\":\"Caf\\u00e9 \\\"é\\\" ☕🙂\"}"),
                ServerSentEvent(data: "second\nline"),
                ServerSentEvent(data: "[DONE]"),
            ]
        )
        #expect(try parse(bytes.map { [$0] }) == whole)
        for cut in 1..<bytes.count {
            #expect(try parse([Array(bytes[..<cut]), Array(bytes[cut...])]) == whole, "cut at byte \(cut)")
        }
    }

    @Test("comments, ids, retry and unknown fields are skipped; event names and colon-less fields are read")
    func fields() throws {
        let text = ": OPENROUTER PROCESSING\n\nid: 7\nretry: 1000\nfoo: bar\nevent: error\ndata:{\"error\":\"x\"}\n\ndata\n\n"
        #expect(try parse(text) == [ServerSentEvent(type: "error", data: "{\"error\":\"x\"}"), ServerSentEvent(data: "")])
    }

    @Test("only one space after the colon is dropped")
    func leadingSpace() throws {
        #expect(try parse("data:  two\n\n") == [ServerSentEvent(data: " two")])
    }

    @Test("a byte-order mark at the start is ignored")
    func byteOrderMark() throws {
        #expect(try parse([[0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8)]) == [ServerSentEvent(data: "x")])
    }

    @Test("an event whose stream ended before its blank line is still delivered")
    func unterminatedLastEvent() throws {
        #expect(try parse("data: a\n\ndata: b") == [ServerSentEvent(data: "a"), ServerSentEvent(data: "b")])
        #expect(try parse("data: a\n") == [ServerSentEvent(data: "a")])
    }

    @Test("a line over the limit throws instead of growing without bound")
    func lineLimit() throws {
        #expect(throws: ServerSentEventLineTooLong(limit: 16)) {
            try parse([Array("data: 0123456789abcdef\n\n".utf8)], maximumLineBytes: 16)
        }
        #expect(try parse([Array("data: 0123456789\n\n".utf8)], maximumLineBytes: 16) == [ServerSentEvent(data: "0123456789")])
    }
}
