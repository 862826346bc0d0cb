import HeraldCore
import HeraldProtocol
import Testing

@testable import Worker

/// A model whose stream is a script: each request plays the next step list, and a step may wait for the
/// events the test has seen, so what the sink receives does not depend on how fast anything runs.
private struct SteppedModel: LanguageModel {
    enum Step: Sendable {
        case text(String)
        case toolCall(ModelToolCall)
        /// Nothing more until the sink holds an event that matches.
        case waitFor(@Sendable (AgentEvent) -> Bool)
    }

    let name = "stepped"
    let sink: CollectingEventSink
    let requests: [[Step]]
    private let served = Counter()

    init(sink: CollectingEventSink, requests: [[Step]]) {
        self.sink = sink
        self.requests = requests
    }

    private actor Counter {
        var value = 0
        func next() -> Int {
            defer { value += 1 }
            return value
        }
    }

    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ModelStreamEvent, any Error>.makeStream()
        let task = Task { [sink, requests, served] in
            let number = await served.next()
            for step in number < requests.count ? requests[number] : [.text("done")] {
                switch step {
                case .text(let text): continuation.yield(.textDelta(text))
                case .toolCall(let call): continuation.yield(.toolCall(call))
                case .waitFor(let predicate): await sink.waitFor(predicate)
                }
            }
            continuation.yield(.finish(.stop))
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

private func isText(_ text: String) -> @Sendable (AgentEvent) -> Bool {
    { if case .partialResult(let body) = $0.payload { body.content == text } else { false } }
}

/// The assistant's streamed text under `HERALD_STREAM_COALESCE_MS`.
@Suite("Assistant streaming", .timeLimit(.minutes(1)))
struct AssistantStreamingTests {
    private func engine(_ sink: CollectingEventSink, model: any LanguageModel, coalescing: Duration) -> ExecutionEngine {
        let configuration = EngineConfiguration(
            streamCoalescing: coalescing,
            emitRetry: EmitRetryPolicy(maximumDuration: .seconds(5), initialDelay: .milliseconds(1), maximumDelay: .milliseconds(10))
        )
        return TestSupport.engine(sink: sink, model: model, configuration: configuration)
    }

    private func texts(_ sink: CollectingEventSink) async -> [String] {
        await sink.events.compactMap { if case .partialResult(let body) = $0.payload, !body.isComplete { body.content } else { nil } }
    }

    @Test func theFirstDeltaGoesAtOnceAndTheRestIsMergedUntilAToolCallFlushesIt() async throws {
        let sink = CollectingEventSink()
        let call = ModelToolCall(id: "call_1", name: "calculator", arguments: #"{"expression":"2+3"}"#)
        // An hour between events: only the first delta and the flushes can send text.
        let model = SteppedModel(
            sink: sink,
            requests: [
                [.text("Let"), .waitFor(isText("Let")), .text(" me"), .text(" check"), .text("."), .toolCall(call)],
                [.text("It"), .text(" is"), .text(" 5.")],
            ]
        )
        let outcome = await engine(sink, model: model, coalescing: .seconds(3600)).run(TestSupport.input("add two and three"))
        #expect(await TestSupport.violations(sink) == [])
        guard case .completed = outcome else {
            Issue.record("run did not complete: \(outcome)")
            return
        }
        #expect(await texts(sink) == ["Let", " me check.", "\n\nIt", " is 5."])
        // The held text went out before the tool call it preceded.
        let events = await sink.events
        let merged = try #require(events.firstIndex(where: isText(" me check.")))
        #expect(events[(merged + 1)...].first(where: { $0.type != .agentThinking })?.type == .toolExecuting)
    }

    @Test func heldTextGoesOutWhenDueWhileTheModelIsSilent() async throws {
        let sink = CollectingEventSink()
        // The model says nothing more until the held " world" reached the sink: only the timer can send it.
        let model = SteppedModel(
            sink: sink,
            requests: [
                [.text("Hello"), .waitFor(isText("Hello")), .text(" world"), .waitFor(isText(" world")), .text("!")]
            ]
        )
        let outcome = await engine(sink, model: model, coalescing: .milliseconds(20)).run(TestSupport.input("greet me"))
        #expect(await TestSupport.violations(sink) == [])
        guard case .completed = outcome else {
            Issue.record("run did not complete: \(outcome)")
            return
        }
        let streamed = await texts(sink)
        #expect(streamed.prefix(2) == ["Hello", " world"])
        #expect(streamed.joined() == "Hello world!")
    }

    @Test func zeroCoalescingSendsEveryDeltaAsItsOwnEvent() async throws {
        let sink = CollectingEventSink()
        let words = (1...50).map { " w\($0)" }
        let model = SteppedModel(sink: sink, requests: [words.map { .text($0) }])
        _ = await engine(sink, model: model, coalescing: .zero).run(TestSupport.input("talk"))
        #expect(await TestSupport.violations(sink) == [])
        #expect(await texts(sink) == words)
    }
}

/// The conversation a continued run gives the model.
@Suite struct AssistantConversationTests {
    @Test func aToolResultWhoseCallWasTrimmedAwayIsLeftOut() {
        let turns: [ConversationTurn] = [
            ConversationTurn(role: .tool, content: "orphan", toolCallID: "call_0"),
            ConversationTurn(role: .user, content: "book it"),
            ConversationTurn(role: .assistant, content: "", toolCalls: [.init(id: "call_1", name: "confirm_booking", arguments: "{}")]),
            ConversationTurn(role: .tool, content: "booked", toolCallID: "call_1"),
        ]
        let kept = AssistantAgent.answerable(turns)
        #expect(kept.map(\.content) == ["book it", "", "booked"])
        let messages = kept.map(AssistantAgent.message(of:))
        #expect(messages[1].toolCalls.map(\.id) == ["call_1"])
        #expect(messages[2].role == .tool && messages[2].toolCallID == "call_1")
    }

    @Test func clientToolsNamedLikeAWorkerToolAreNotOffered() {
        let own = [ToolSpec(name: "calculator", description: "adds", parameters: ["type": "object"])]
        let client = [
            ToolSpec(name: "calculator", description: "the client's", parameters: [:]),
            ToolSpec(name: "show_map", description: "shows a map", parameters: ["type": "object"]),
        ]
        #expect(AssistantAgent.clientTools(client, besides: own).map(\.name) == ["show_map"])
    }
}
