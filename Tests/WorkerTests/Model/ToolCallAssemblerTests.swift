import HeraldProtocol
import Testing

@testable import Worker

@Suite("Tool call assembler")
struct ToolCallAssemblerTests {
    @Test("fragments split at every position add up to the call")
    func splitAnywhere() throws {
        let arguments = #"{"query":"caf\u00e9 \"resume\"","limit":3}"#
        let characters = Array(arguments)
        for cut in 0...characters.count {
            var assembler = ToolCallAssembler()
            try assembler.add(ToolCallDelta(index: 0, id: "call_", name: "search"))
            try assembler.add(ToolCallDelta(index: 0, id: "9x"))
            try assembler.add(ToolCallDelta(index: 0, name: "_docs", arguments: String(characters[..<cut])))
            try assembler.add(ToolCallDelta(index: 0, arguments: String(characters[cut...])))
            let calls = try assembler.complete()
            #expect(calls == [ModelToolCall(id: "call_9x", name: "search_docs", arguments: arguments)], "cut at \(cut)")
            #expect(try JSONValue.parse(calls[0].arguments) == ["query": "café \"resume\"", "limit": 3])
        }
    }

    @Test("parallel calls interleaved by index come out in index order")
    func parallel() throws {
        var assembler = ToolCallAssembler()
        try assembler.add(ToolCallDelta(index: 1, id: "call_b", name: "clock", arguments: ""))
        try assembler.add(ToolCallDelta(index: 0, id: "call_a", name: "calculator", arguments: #"{"expr"#))
        try assembler.add(ToolCallDelta(index: 1, arguments: #"{"time_zone":"#))
        try assembler.add(ToolCallDelta(index: 0, arguments: #"ession":"2^10"}"#))
        try assembler.add(ToolCallDelta(index: 1, arguments: #""Asia/Tokyo"}"#))
        #expect(
            try assembler.complete() == [
                ModelToolCall(id: "call_a", name: "calculator", arguments: #"{"expression":"2^10"}"#),
                ModelToolCall(id: "call_b", name: "clock", arguments: #"{"time_zone":"Asia/Tokyo"}"#),
            ]
        )
        #expect(assembler.isEmpty)
    }

    @Test("an id and a name repeated with every fragment are taken once")
    func repeatedIdentity() throws {
        var assembler = ToolCallAssembler()
        try assembler.add(ToolCallDelta(index: 0, id: "call_1", name: "calculator", arguments: #"{"expression":"#))
        try assembler.add(ToolCallDelta(index: 0, id: "call_1", name: "calculator", arguments: #""1+1"}"#))
        #expect(try assembler.complete() == [ModelToolCall(id: "call_1", name: "calculator", arguments: #"{"expression":"1+1"}"#)])
    }

    @Test("deltas without an index continue the call with their id, else the latest call")
    func missingIndex() throws {
        var assembler = ToolCallAssembler()
        try assembler.add(ToolCallDelta(id: "call_x", name: "wait", arguments: #"{"sec"#))
        try assembler.add(ToolCallDelta(arguments: #"onds":1}"#))
        try assembler.add(ToolCallDelta(id: "call_y", name: "clock", arguments: "{}"))
        #expect(
            try assembler.complete() == [
                ModelToolCall(id: "call_x", name: "wait", arguments: #"{"seconds":1}"#),
                ModelToolCall(id: "call_y", name: "clock", arguments: "{}"),
            ]
        )
    }

    @Test("whole calls that all say index 0 stay separate calls, in order")
    func allIndexZero() throws {
        var assembler = ToolCallAssembler()
        try assembler.add(ToolCallDelta(index: 0, id: "call_1", name: "calculator", arguments: #"{"expression":"1+1"}"#))
        try assembler.add(ToolCallDelta(index: 0, id: "call_2", name: "clock", arguments: "{}"))
        #expect(try assembler.complete().map(\.id) == ["call_1", "call_2"])
    }

    @Test("a call without an id gets a unique one; empty arguments become {}")
    func missingIdAndArguments() throws {
        var assembler = ToolCallAssembler()
        try assembler.add(ToolCallDelta(index: 0, name: "clock"))
        try assembler.add(ToolCallDelta(index: 1, name: "clock", arguments: " "))
        let calls = try assembler.complete()
        #expect(calls.map(\.arguments) == ["{}", "{}"])
        #expect(calls.allSatisfy { $0.id.hasPrefix("call_") })
        #expect(Set(calls.map(\.id)).count == 2)
    }

    @Test("a call without a name, or with arguments over the limit, is an error")
    func malformed() throws {
        var nameless = ToolCallAssembler()
        try nameless.add(ToolCallDelta(index: 0, id: "call_1", arguments: "{}"))
        #expect(throws: ToolCallAssemblyError.self) { try nameless.complete() }

        var huge = ToolCallAssembler(maximumArgumentBytes: 8)
        try huge.add(ToolCallDelta(index: 0, id: "call_1", name: "wait", arguments: "{\"a\":"))
        #expect(throws: ToolCallAssemblyError.self) { try huge.add(ToolCallDelta(index: 0, arguments: "123456}")) }
    }
}
