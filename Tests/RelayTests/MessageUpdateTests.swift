import Foundation
import HeraldCore
import HeraldProtocol
import Testing

@testable import Relay

/// What each published event changes in its thread's messages, worked out without Redis.
@Suite struct MessageUpdateTests {
    private static func entry(_ agent: String, _ payload: EventPayload) -> PartitionEntry {
        PartitionEntry(AgentEvent(threadID: "thr_1", runID: "run_1", agentName: agent, payload: payload))
    }

    @Test func theSupervisorsStartOpensTheExchangeWithTheUsersWords() {
        let start = Self.entry(
            AgentName.supervisor,
            .agentStarted(.init(agentName: AgentName.supervisor, input: .init(content: "hi there", clientMessageID: "m1")))
        )
        guard case .opens(let runID, let user)? = MessageUpdate.updates(for: start).first else {
            Issue.record("no opening")
            return
        }
        #expect(runID == "run_1")
        #expect(user.content == "hi there" && user.clientMessageID == "m1")
        // A sub-agent's start and end, and thinking, change nothing.
        #expect(
            MessageUpdate.updates(for: Self.entry("researcher", .agentStarted(.init(agentName: "researcher", parentAgent: AgentName.supervisor))))
                == []
        )
        #expect(
            MessageUpdate.updates(for: Self.entry("researcher", .agentCompleted(.init(agentName: "researcher", status: .success, durationMs: 1))))
                == []
        )
        #expect(MessageUpdate.updates(for: Self.entry(AgentName.supervisor, .agentThinking(.init(thought: "hmm")))) == [])
    }

    @Test func textIsJoinedPerBatchAndTheFinalReportReplacesIt() {
        var updates: [MessageUpdate] = []
        for piece in ["Hel", "lo", " world", ""] {
            for update in MessageUpdate.updates(for: Self.entry("writer", .partialResult(.init(content: piece, isComplete: false)))) {
                updates.add(update)
            }
        }
        #expect(updates == [.appends(runID: "run_1", text: "Hello world")])
        for update in MessageUpdate.updates(
            for: Self.entry(AgentName.supervisor, .finalReport(.init(report: "Hello world.", totalDurationMs: 5, usage: ["total_tokens": 12])))
        ) {
            updates.add(update)
        }
        #expect(updates == [.replaces(runID: "run_1", text: "Hello world.", usage: #"{"total_tokens":12}"#)])
        #expect(updates[0].scriptArguments == ["replace", "run_1", "Hello world.", #"{"total_tokens":12}"#])
    }

    /// The stored part of a tool update, decoded.
    private static func part<T: Decodable>(_ update: MessageUpdate?, as type: T.Type) throws -> T {
        switch update {
        case .toolBegan(_, _, let json)?, .toolEnded(_, _, let json)?: return try JSONDecoder().decode(T.self, from: Data(json.utf8))
        default: throw TestFailure("not a tool update: \(String(describing: update))")
        }
    }

    @Test func toolCallsAndTheRunsEndAreKeptWithTheirStatus() throws {
        let arguments: JSONValue = ["expression": "2+2", "nested": ["a": [1, "x\"y"]]]
        let began = MessageUpdate.updates(
            for: Self.entry("calc", .toolExecuting(.init(toolCallID: "c1", toolName: "calculator", arguments: arguments)))
        )
        #expect(
            try Self.part(began.first, as: MessageRecord.ToolCallPart.self) == .init(toolCallID: "c1", toolName: "calculator", arguments: arguments)
        )
        let failed = MessageUpdate.updates(
            for: Self.entry(
                "calc",
                .toolCompleted(.init(toolCallID: "c1", toolName: "calculator", status: .error, error: "division by zero", durationMs: 3))
            )
        )
        #expect(try Self.part(failed.first, as: MessageRecord.ToolDonePart.self) == .init(status: "error", result: nil, error: "division by zero"))
        let succeeded = MessageUpdate.updates(
            for: Self.entry(
                "calc",
                .toolCompleted(.init(toolCallID: "c1", toolName: "calculator", status: .success, result: ["value": 4], durationMs: 3))
            )
        )
        #expect(try Self.part(succeeded.first, as: MessageRecord.ToolDonePart.self) == .init(status: "success", result: ["value": 4], error: nil))

        let cases: [(EventPayload, String)] = [
            (.agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 9)), "complete"),
            (.agentCompleted(.init(agentName: AgentName.supervisor, status: .cancelled, durationMs: 9)), "cancelled"),
            (.agentError(.init(agentName: AgentName.supervisor, code: .cancelled, message: "stop", retryable: false)), "cancelled"),
            (.agentError(.init(agentName: AgentName.supervisor, code: .workerLost, message: "gone", retryable: true)), "error"),
        ]
        for (payload, status) in cases {
            guard case .closes(_, let end)? = MessageUpdate.updates(for: Self.entry(AgentName.supervisor, payload)).first else {
                Issue.record("\(payload) does not close the run")
                continue
            }
            #expect(end.status == status)
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The scanner reads what Foundation reads, for the events workers write: strings with every kind of escape,
/// nested values before and after the member sought.
@Suite struct EventJSONScannerTests {
    static let awkwardTexts = [
        "", "plain", "quote \" and backslash \\ and slash /", "line\nbreak\ttab\r\u{08}\u{0C}", "control \u{01}\u{1F}", "é ü 中文",
        "emoji 😀 and 🏳️‍🌈", "braces { } [ ] , : inside", "\u{2028}\u{2029}", String(repeating: "long ", count: 2_000),
    ]

    @Test(arguments: awkwardTexts)
    func aPartialResultsTextIsReadExactly(text: String) throws {
        let event = AgentEvent(
            threadID: "thr_1",
            runID: "run_1",
            agentName: "writer",
            payload: .partialResult(.init(content: text, isComplete: false))
        )
        let scanner = EventJSONScanner(event.encodedJSON())
        let payload = try #require(scanner.member("payload"))
        let content = try #require(scanner.member("content", in: payload))
        #expect(scanner.string(content) == text)
        #expect(scanner.member("missing", in: payload) == nil)
        #expect(scanner.member("thread_id").flatMap(scanner.string) == "thr_1")
    }

    private static func string(_ json: String, _ key: String) -> String? {
        let scanner = EventJSONScanner(json)
        return scanner.member(key).flatMap(scanner.string)
    }

    @Test func escapesWrittenByHandAreReadAsJSONReadsThem() throws {
        let json = #"{"a":[1,{"b":"}"}],"payload":{"x":null,"content":"\u00e9\ud83d\ude00\/\"","n":-1.5e3},"z":true}"#
        let scanner = EventJSONScanner(json)
        let payload = try #require(scanner.member("payload"))
        #expect(scanner.member("content", in: payload).flatMap(scanner.string) == "é😀/\"")
        #expect(scanner.member("n", in: payload).map(scanner.raw) == "-1.5e3")
        #expect(scanner.member("x", in: payload).map(scanner.raw) == "null")
        #expect(scanner.member("z").map(scanner.raw) == "true")
        // A lone surrogate or a bad escape is not a string: the caller decodes instead.
        #expect(Self.string(#"{"s":"\ud83d"}"#, "s") == nil)
        #expect(Self.string(#"{"s":"\q"}"#, "s") == nil)
        #expect(EventJSONScanner("[1]").member("a") == nil)
        #expect(EventJSONScanner(#"{"a":"unterminated"#).member("b") == nil)
    }
}

/// The scanner's reading of each kind of event is the full decoder's.
@Suite struct MessageUpdateScanningTests {
    static let payloads: [(String, EventPayload)] = [
        (
            AgentName.supervisor,
            .agentStarted(.init(agentName: AgentName.supervisor, input: .init(content: "hé \"there\"\n", clientMessageID: "m-1")))
        ),
        (AgentName.supervisor, .agentStarted(.init(agentName: AgentName.supervisor, input: .init(content: "no id")))),
        (AgentName.supervisor, .agentStarted(.init(agentName: AgentName.supervisor))),
        ("writer", .partialResult(.init(content: "a \\ b 😀", isComplete: false))),
        ("writer", .partialResult(.init(content: "", isComplete: true))),
        (AgentName.supervisor, .finalReport(.init(report: "all of it", totalDurationMs: 3))),
        (AgentName.supervisor, .finalReport(.init(report: "with usage", totalDurationMs: 3, usage: ["prompt_tokens": 3, "completion_tokens": 4]))),
        ("calc", .toolExecuting(.init(toolCallID: "c\"1", toolName: "calculator", arguments: ["expression": "1/0", "list": [1, 2.5, true, nil]]))),
        ("calc", .toolCompleted(.init(toolCallID: "c1", toolName: "calculator", status: .timeout, error: "too slow", durationMs: 9))),
        ("calc", .toolCompleted(.init(toolCallID: "c1", toolName: "calculator", status: .success, result: ["value": 0.1], durationMs: 9))),
        (AgentName.supervisor, .agentCompleted(.init(agentName: AgentName.supervisor, status: .success, durationMs: 9, result: ["tool_calls": 1]))),
        (AgentName.supervisor, .agentCompleted(.init(agentName: AgentName.supervisor, status: .cancelled, durationMs: 9))),
        (AgentName.supervisor, .agentError(.init(agentName: AgentName.supervisor, code: .llmUnavailable, message: "down \"now\"", retryable: true))),
        (AgentName.supervisor, .agentError(.init(agentName: AgentName.supervisor, code: .cancelled, message: "stopped", retryable: false))),
    ]

    @Test(arguments: payloads.indices)
    func theScannerReadsWhatTheDecoderReads(index: Int) throws {
        let (agent, payload) = Self.payloads[index]
        let entry = PartitionEntry(AgentEvent(threadID: "thr_1", runID: "run_1", agentName: agent, payload: payload))
        let scanned = MessageUpdate.updates(for: entry)
        let decoded = MessageUpdate.decoded(entry)
        #expect(scanned.count == decoded.count)
        for (mine, reference) in zip(scanned, decoded) {
            switch (mine, reference) {
            case (.toolBegan(let run, let id, let json), .toolBegan(let run2, let id2, let json2)):
                #expect(run == run2 && id == id2)
                #expect(
                    try JSONDecoder().decode(MessageRecord.ToolCallPart.self, from: Data(json.utf8))
                        == JSONDecoder().decode(MessageRecord.ToolCallPart.self, from: Data(json2.utf8))
                )
            case (.toolEnded(let run, let id, let json), .toolEnded(let run2, let id2, let json2)):
                #expect(run == run2 && id == id2)
                #expect(
                    try JSONDecoder().decode(MessageRecord.ToolDonePart.self, from: Data(json.utf8))
                        == JSONDecoder().decode(MessageRecord.ToolDonePart.self, from: Data(json2.utf8))
                )
            case (.replaces(let run, let text, let usage), .replaces(let run2, let text2, let usage2)):
                #expect(run == run2 && text == text2)
                #expect(
                    try usage.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
                        == usage2.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
                )
            default:
                #expect(mine == reference)
            }
        }
    }
}
