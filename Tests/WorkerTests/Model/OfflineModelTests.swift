import HeraldProtocol
import Testing

@testable import Worker

@Suite("Offline model")
struct OfflineModelTests {
    private let tools = ToolRegistry.standard(docs: .empty).specs

    private func collect(_ model: OfflineModel, _ request: ModelRequest) async throws -> [ModelStreamEvent] {
        var events: [ModelStreamEvent] = []
        for try await event in model.stream(request) { events.append(event) }
        return events
    }

    @Test("it calls the tools the message asks for, when they are offered")
    func plansToolCalls() async throws {
        let events = try await collect(
            OfflineModel(wordDelay: .zero),
            ModelRequest(messages: [.user("what is (17*3)+4? and what time is it")], tools: tools)
        )
        let calls = events.compactMap { if case .toolCall(let call) = $0 { call } else { nil } }
        #expect(
            calls == [
                ModelToolCall(id: "call_1", name: "calculator", arguments: #"{"expression":"(17*3)+4"}"#),
                ModelToolCall(id: "call_2", name: "clock", arguments: "{}"),
            ]
        )
        #expect(events.last == .finish(.toolCalls))

        let withoutTools = OfflineModel.reply(to: ModelRequest(messages: [.user("what is (17*3)+4?")], tools: []))
        #expect(withoutTools.toolCalls.isEmpty)
        #expect(!withoutTools.text.isEmpty)
    }

    @Test("it states each tool's outcome once results are in")
    func answersFromResults() {
        let calls = [
            ModelToolCall(id: "call_1", name: "calculator", arguments: #"{"expression":"(17*3)+4"}"#),
            ModelToolCall(id: "call_2", name: "calculator", arguments: #"{"expression":"1/0"}"#),
            ModelToolCall(id: "call_3", name: "wait", arguments: #"{"seconds":400}"#),
        ]
        let request = ModelRequest(
            messages: [
                .user("what is (17*3)+4 and 1/0 then wait 400 seconds"),
                .assistant("", toolCalls: calls),
                .tool(callID: "call_1", content: #"{"expression":"(17*3)+4","text":"55","value":55}"#),
                .tool(callID: "call_2", content: #"{"error":"division by zero","status":"error"}"#),
                .tool(callID: "call_3", content: #"{"error":"timed out after 30 s","status":"timeout"}"#),
            ],
            tools: tools
        )
        let reply = OfflineModel.reply(to: request)
        #expect(reply.toolCalls.isEmpty)
        #expect(
            reply.text == """
                (17*3)+4 = 55
                I couldn't calculate 1/0: division by zero.
                The wait tool did not finish in time (timed out after 30 s).
                """
        )
    }

    @Test("it streams the answer word by word, and the words add up to it")
    func streamsWords() async throws {
        let request = ModelRequest(messages: [.user("hello")], tools: tools)
        let events = try await collect(OfflineModel(wordDelay: .milliseconds(1)), request)
        let deltas = events.compactMap { if case .textDelta(let text) = $0 { text } else { nil } }
        #expect(deltas.count > 5)
        #expect(deltas.joined() == OfflineModel.reply(to: request).text)
        #expect(deltas.joined().hasPrefix("Hello! I'm Herald's offline assistant."))
        #expect(events.last == .finish(.stop))
    }

    @Test("it recalls the earlier messages of the conversation")
    func recall() {
        let request = ModelRequest(
            messages: [
                .system("system"),
                .user("what is (17*3)+4?"), .assistant("(17*3)+4 = 55"),
                .user("what did I ask before?"),
            ],
            tools: tools
        )
        #expect(OfflineModel.reply(to: request).text == "Before this, you asked: “what is (17*3)+4?”")
        let first = ModelRequest(messages: [.user("what did I ask before?")], tools: tools)
        #expect(OfflineModel.reply(to: first).text.hasPrefix("This is the first message of our conversation"))
    }

    @Test("it stops streaming when its consumer is cancelled")
    func honoursCancellation() async {
        let model = OfflineModel(wordDelay: .seconds(60))
        let task = Task {
            var count = 0
            for try await _ in model.stream(ModelRequest(messages: [.user("tell me a story")], tools: [])) { count += 1 }
            return count
        }
        task.cancel()
        let result = await task.result
        // Cancelled before the first word: the stream ends (quietly or with CancellationError), having yielded nothing.
        switch result {
        case .success(let count): #expect(count == 0)
        case .failure(let error): #expect(error is CancellationError)
        }
    }
}
