import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Testing

@testable import Worker

/// Whole runs through the execution engine against a scripted OpenAI-compatible server on a real
/// socket: the events must keep the run rules, the user must see exactly the streamed text, and
/// the server must receive the requests the API defines.
@Suite("OpenAI-compatible model", .timeLimit(.minutes(2)))
struct OpenAICompatibleModelTests {
    typealias T = ProviderTranscripts

    static let apiKey = "sk-test-herald-0123456789abcdef"
    static let prompts = AgentPrompts(
        assistant: "You are the test assistant.",
        triage: "You are the test triage.",
        reporting: "You are the test reporter."
    )

    /// What a run produced, as the user and the server saw it.
    struct Run {
        var outcome: RunOutcome
        var events: [AgentEvent]
        var violations: [RunRuleViolation]
        var requests: [ScriptedModelServer.RecordedRequest]

        /// The streamed text, as the chat page shows it while the answer comes in.
        var streamed: String {
            events.compactMap { if case .partialResult(let body) = $0.payload { body.content } else { nil } }.joined()
        }

        var reports: [EventPayload.FinalReport] {
            events.compactMap { if case .finalReport(let body) = $0.payload { body } else { nil } }
        }

        var errors: [EventPayload.AgentError] {
            events.compactMap { if case .agentError(let body) = $0.payload { body } else { nil } }
        }

        var thoughts: [String] {
            events.compactMap { if case .agentThinking(let body) = $0.payload, $0.agentName == "triage" { body.thought } else { nil } }
        }

        var executing: [EventPayload.ToolExecuting] {
            events.compactMap { if case .toolExecuting(let body) = $0.payload { body } else { nil } }
        }

        var completed: [EventPayload.ToolCompleted] {
            events.compactMap { if case .toolCompleted(let body) = $0.payload { body } else { nil } }
        }

        /// The messages of request `index`.
        func messages(_ index: Int) -> [JSONValue] {
            guard requests.indices.contains(index), case .array(let messages)? = requests[index].body["messages"] else { return [] }
            return messages
        }
    }

    private static func settings(
        _ baseURL: String,
        firstTokenTimeout: Duration = .seconds(30),
        retries: Int = 2,
        connectTimeout: Duration = .seconds(5)
    ) -> LanguageModelSettings {
        LanguageModelSettings(
            baseURL: baseURL,
            apiKey: apiKey,
            model: "test-model",
            connectTimeout: connectTimeout,
            firstTokenTimeout: firstTokenTimeout,
            requestTimeout: .seconds(60),
            retry: ModelRetryPolicy(maximumRetries: retries, initialDelay: .milliseconds(1), maximumDelay: .seconds(2))
        )
    }

    /// Starts a scripted server and a model pointed at it, runs `body`, and closes both.
    private func withServer(
        firstTokenTimeout: Duration = .seconds(30),
        retries: Int = 2,
        _ body: (ScriptedModelServer, OpenAICompatibleModel) async throws -> Void
    ) async throws {
        let server = try await ScriptedModelServer.start()
        let model = OpenAICompatibleModel(
            settings: Self.settings(server.baseURL, firstTokenTimeout: firstTokenTimeout, retries: retries),
            logger: TestSupport.logger
        )
        do {
            try await body(server, model)
        } catch {
            try? await model.shutdown()
            try? await server.stop()
            throw error
        }
        try await model.shutdown()
        try await server.stop()
    }

    private static func engine(_ sink: CollectingEventSink, model: any LanguageModel) -> ExecutionEngine {
        let configuration = EngineConfiguration(
            emitRetry: EmitRetryPolicy(maximumDuration: .seconds(5), initialDelay: .milliseconds(1), maximumDelay: .milliseconds(10))
        )
        return TestSupport.engine(sink: sink, model: model, configuration: configuration.prompting(with: prompts))
    }

    private func run(
        _ message: String,
        history: [ConversationTurn] = [],
        sink: CollectingEventSink = CollectingEventSink(),
        server: ScriptedModelServer,
        model: OpenAICompatibleModel
    ) async -> Run {
        let outcome = await Self.engine(sink, model: model).run(TestSupport.input(message, history: history))
        return Run(outcome: outcome, events: await sink.events, violations: await TestSupport.violations(sink), requests: await server.requests())
    }

    // MARK: Answers

    @Test("text only (OpenAI's shape, cut every 3 bytes): streamed as it comes, reported whole, usage summed")
    func textOnly() async throws {
        try await withServer { server, model in
            await server.enqueue(ScriptedModelServer.stream(T.triage("No tool is needed; answer directly."), pieceBytes: 5))
            let pieces = ["Hello", ", wor", "ld! ", "Caf\u{e9} \"au lait\" ☕", "\n🙂"]
            await server.enqueue(ScriptedModelServer.stream(T.openAIText(pieces, usage: (prompt: 42, completion: 9)), pieceBytes: 3))
            let history = [ConversationTurn(role: .user, content: "hi"), ConversationTurn(role: .assistant, content: "Hello!")]
            let run = await run("Say hello", history: history, server: server, model: model)

            let expected = "Hello, world! Café \"au lait\" ☕\n🙂"
            #expect(run.violations == [])
            #expect(run.outcome == .completed(report: expected))
            #expect(run.streamed == expected)
            #expect(run.reports.map(\.report) == [expected])
            #expect(run.reports.first?.usage == ["prompt_tokens": 42, "completion_tokens": 9, "total_tokens": 51])
            #expect(run.thoughts == ["No tool is needed; answer directly."])
            #expect(run.events.filter { $0.type == .agentStarted }.map(\.agentName) == ["supervisor", "triage", "assistant", "reporting"])

            // What the server received: triage first (no tools), then the assistant (with tools).
            #expect(run.requests.count == 2)
            for request in run.requests {
                #expect(request.method == "POST")
                #expect(request.path == "/v1/chat/completions")
                #expect(request.headers["authorization"] == "Bearer \(Self.apiKey)")
                #expect(request.headers["content-type"] == "application/json")
                #expect(request.headers["accept"] == "text/event-stream")
                #expect(request.body["model"] == "test-model")
                #expect(request.body["stream"] == true)
                #expect(request.body["stream_options"] == ["include_usage": true])
            }
            #expect(run.requests[0].body["tools"] == nil)
            let triageSystem = run.messages(0).first?["content"]?.stringValue ?? ""
            #expect(triageSystem.hasPrefix("You are the test triage.\n\nTools the assistant can call:\n- calculator: "))
            #expect(
                Array(run.messages(0).dropFirst()) == [
                    ["role": "user", "content": "hi"], ["role": "assistant", "content": "Hello!"], ["role": "user", "content": "Say hello"],
                ]
            )
            #expect(
                run.messages(1).first == [
                    "role": "system",
                    "content": "You are the test assistant.\n\nTriage's notes on this message: No tool is needed; answer directly.",
                ]
            )
            #expect(Array(run.messages(1).dropFirst()) == Array(run.messages(0).dropFirst()))
            guard case .array(let tools)? = run.requests[1].body["tools"] else {
                Issue.record("the assistant's request offered no tools")
                return
            }
            #expect(tools.compactMap { $0["function"]?["name"]?.stringValue } == ["calculator", "clock", "wait", "search_docs"])
            #expect(tools.allSatisfy { $0["type"] == "function" && $0["function"]?["parameters"]?["type"] == "object" })
        }
    }

    @Test("one tool call (Ollama's shape, whole in one chunk, finish_reason stop): run, paired, result sent back")
    func oneToolCall() async throws {
        try await withServer { server, model in
            await server.enqueue(ScriptedModelServer.stream(T.triage("This needs the calculator."), pieceBytes: 64))
            let call = #"{"id":"call_k2x9","index":0,"type":"function","function":{"name":"calculator","arguments":"{\"expression\":\"(17*3)+4\"}"}}"#
            await server.enqueue(
                ScriptedModelServer.stream(
                    T.ollamaChunk(#"{"role":"assistant","content":"","tool_calls":[\#(call)]}"#)
                        + T.ollamaChunk(#"{"role":"assistant","content":""}"#, finish: "stop")
                        + T.ollamaUsage(prompt: 100, completion: 20) + T.done,
                    pieceBytes: 11
                )
            )
            await server.enqueue(
                ScriptedModelServer.stream(
                    T.ollamaChunk(#"{"role":"assistant","content":"(17*3)+4"}"#) + T.ollamaChunk(#"{"role":"assistant","content":" = 55."}"#)
                        + T.ollamaChunk(#"{"role":"assistant","content":""}"#, finish: "stop") + T.ollamaUsage(prompt: 130, completion: 8) + T.done,
                    pieceBytes: 9
                )
            )
            let run = await run("what is (17*3)+4?", server: server, model: model)

            #expect(run.violations == [])
            #expect(run.outcome == .completed(report: "(17*3)+4 = 55."))
            #expect(run.streamed == "(17*3)+4 = 55.")
            #expect(run.reports.first?.usage == ["prompt_tokens": 230, "completion_tokens": 28, "total_tokens": 258])
            #expect(run.thoughts == ["This needs the calculator."])
            #expect(run.executing.map(\.toolCallID) == ["call_k2x9"])
            #expect(run.executing.first?.arguments == ["expression": "(17*3)+4"])
            #expect(run.completed.map(\.toolCallID) == ["call_k2x9"])
            #expect(run.completed.first?.status == .success)
            #expect(run.completed.first?.result?["value"] == 55)

            #expect(run.requests.count == 3)
            let messages = run.messages(2)
            #expect(messages.count == 4)
            #expect(
                messages[2] == [
                    "role": "assistant", "content": nil,
                    "tool_calls": [
                        ["id": "call_k2x9", "type": "function", "function": ["name": "calculator", "arguments": #"{"expression":"(17*3)+4"}"#]]
                    ],
                ]
            )
            #expect(messages[3]["role"] == "tool")
            #expect(messages[3]["tool_call_id"] == "call_k2x9")
            let result = try JSONValue.parse(messages[3]["content"]?.stringValue ?? "")
            #expect(result["value"] == 55)
        }
    }

    @Test("parallel tool calls (OpenAI's shape, fragments interleaved by index): both run in order, both results go back")
    func parallelToolCalls() async throws {
        try await withServer { server, model in
            await server.enqueue(ScriptedModelServer.stream(T.triage("This needs the calculator and the clock."), pieceBytes: 64))
            var round = T.openAIChunk(
                #"{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"calculator","arguments":""}}],"refusal":null}"#
            )
            round += T.openAIChunk(#"{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"clock","arguments":""}}]}"#)
            for (index, fragment) in [
                (0, #"{"expr"#), (1, #"{"time_"#), (0, #"ession": "2^"#), (1, #"zone": "Asia/Tok"#), (0, #"10"}"#), (1, #"yo"}"#),
            ] {
                round += T.openAIChunk(#"{"tool_calls":[{"index":\#(index),"function":{"arguments":\#(T.quoted(fragment))}}]}"#)
            }
            round += T.openAIChunk("{}", finish: "tool_calls") + T.openAIUsage(prompt: 80, completion: 30) + T.done
            await server.enqueue(ScriptedModelServer.stream(round, pieceBytes: 7))
            await server.enqueue(ScriptedModelServer.stream(T.openAIText(["2^10 = 1024, and it is ", "morning in Tokyo."]), pieceBytes: 13))
            let run = await run("what is 2^10 and what time is it in Tokyo?", server: server, model: model)

            #expect(run.violations == [])
            #expect(run.outcome == .completed(report: "2^10 = 1024, and it is morning in Tokyo."))
            #expect(run.streamed == "2^10 = 1024, and it is morning in Tokyo.")
            #expect(run.executing.map(\.toolName) == ["calculator", "clock"])
            #expect(run.executing.map(\.arguments) == [["expression": "2^10"], ["time_zone": "Asia/Tokyo"]])
            #expect(run.completed.map(\.toolCallID) == ["call_a", "call_b"])
            #expect(run.completed.map(\.status) == [.success, .success])
            // Usage reported by one round only is still reported.
            #expect(run.reports.first?.usage == ["prompt_tokens": 80, "completion_tokens": 30, "total_tokens": 110])

            let messages = run.messages(2)
            #expect(messages.count == 5)
            guard case .array(let calls)? = messages[2]["tool_calls"] else {
                Issue.record("no tool_calls in the assistant message: \(messages)")
                return
            }
            #expect(calls.map { $0["id"] } == ["call_a", "call_b"])
            #expect(calls.map { $0["function"]?["arguments"] } == [#"{"expression": "2^10"}"#, #"{"time_zone": "Asia/Tokyo"}"#])
            #expect(messages[3]["tool_call_id"] == "call_a")
            #expect(messages[4]["tool_call_id"] == "call_b")
            #expect(messages[4]["content"]?.stringValue?.contains("Asia/Tokyo") == true)
        }
    }

    @Test("arguments split mid-token and mid-escape (vLLM's shape, one byte per chunk) arrive intact")
    func argumentsSplitMidEscape() async throws {
        try await withServer { server, model in
            await server.enqueue(ScriptedModelServer.stream(T.triage("Search the docs."), pieceBytes: 64))
            // The arguments' JSON is {"query": "caf\u00e9 \"resume\" ☕"}, cut inside \u00e9, inside \" and inside ☕'s bytes.
            var round = T.vLLMChunk(#"{"role":"assistant","content":null}"#)
            round += T.vLLMChunk(#"{"tool_calls":[{"id":"chatcmpl-tool-8e1d","type":"function","index":0,"function":{"name":"search_docs"}}]}"#)
            for fragment in [#"{"qu"#, #"ery": "caf\u0"#, #"0e9 \"#, #""res"#, #"ume\"#, #"" ☕"}"#] {
                round += T.vLLMChunk(#"{"tool_calls":[{"index":0,"function":{"arguments":\#(T.quoted(fragment))}}]}"#)
            }
            round += T.vLLMChunk(#"{"content":""}"#, finish: "tool_calls") + T.done
            await server.enqueue(ScriptedModelServer.stream(round, pieceBytes: 1))
            await server.enqueue(
                ScriptedModelServer.stream(
                    T.vLLMChunk(#"{"role":"assistant","content":""}"#)
                        + T.vLLMChunk(#"{"content":"Nothing about caf\u00e9 \"resume\" in the docs."}"#)
                        + T.vLLMChunk("{}", finish: "stop") + T.done,
                    pieceBytes: 1
                )
            )
            let run = await run("search café \"resume\"", server: server, model: model)

            #expect(run.violations == [])
            #expect(run.executing.map(\.toolName) == ["search_docs"])
            #expect(run.executing.first?.toolCallID == "chatcmpl-tool-8e1d")
            #expect(run.executing.first?.arguments == ["query": "café \"resume\" ☕"])
            #expect(run.completed.map(\.toolCallID) == ["chatcmpl-tool-8e1d"])
            #expect(run.outcome == .completed(report: "Nothing about café \"resume\" in the docs."))
            #expect(run.streamed == "Nothing about café \"resume\" in the docs.")
            // The arguments go back to the model exactly as it wrote them.
            #expect(
                run.messages(2)[2]["tool_calls"] == [
                    [
                        "id": "chatcmpl-tool-8e1d", "type": "function",
                        "function": ["name": "search_docs", "arguments": #"{"query": "caf\u00e9 \"resume\" ☕"}"#],
                    ]
                ]
            )
        }
    }

    @Test("when the assistant ran tools but wrote nothing, reporting asks the model with its own prompt")
    func reportingConsultsTheModel() async throws {
        try await withServer { server, model in
            await server.enqueue(ScriptedModelServer.stream(T.triage("This needs the clock."), pieceBytes: 64))
            let call = #"{"index":0,"id":"call_c","type":"function","function":{"name":"clock","arguments":"{}"}}"#
            await server.enqueue(
                ScriptedModelServer.stream(
                    T.openAIChunk(#"{"role":"assistant","content":null,"tool_calls":[\#(call)]}"#) + T.openAIChunk("{}", finish: "tool_calls")
                        + T.done
                )
            )
            await server.enqueue(
                ScriptedModelServer.stream(T.openAIChunk(#"{"role":"assistant","content":""}"#) + T.openAIChunk("{}", finish: "stop") + T.done)
            )
            await server.enqueue(ScriptedModelServer.stream(T.openAIText(["The clock ", "answered."], usage: (prompt: 10, completion: 3))))
            let run = await run("what time is it?", server: server, model: model)

            #expect(run.violations == [])
            #expect(run.outcome == .completed(report: "The clock answered."))
            #expect(run.reports.map(\.report) == ["The clock answered."])
            #expect(run.reports.first?.usage == ["prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13])
            #expect(run.requests.count == 4)
            let messages = run.messages(3)
            #expect(messages.first == ["role": "system", "content": "You are the test reporter."])
            let brief = messages.last?["content"]?.stringValue ?? ""
            #expect(brief.hasPrefix("The user's message:\nwhat time is it?\n\nThe tools' outcomes:\n- clock {} → success: "))
            #expect(run.requests[3].body["tools"] == nil)
        }
    }

    // MARK: Failures

    /// The run failed cleanly with `llm_unavailable`: assistant or triage, then the supervisor, no report.
    private func expectUnavailable(
        _ run: Run,
        agent: String,
        message: String,
        retryable: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(run.violations == [], sourceLocation: sourceLocation)
        #expect(
            run.outcome == .failed(code: .llmUnavailable, message: "the language model is unavailable: \(message)"),
            sourceLocation: sourceLocation
        )
        #expect(run.errors.map(\.agentName) == [agent, "supervisor"], sourceLocation: sourceLocation)
        #expect(run.errors.allSatisfy { $0.code == .llmUnavailable && $0.retryable == retryable }, sourceLocation: sourceLocation)
        #expect(run.reports.isEmpty, sourceLocation: sourceLocation)
        #expect(run.events.allSatisfy { !"\($0.payload)".contains(Self.apiKey) }, sourceLocation: sourceLocation)
    }

    @Test("an error mid-stream ends the run with llm_unavailable and the server's message, after the text shown")
    func errorMidStream() async throws {
        try await withServer { server, model in
            await server.enqueue(ScriptedModelServer.stream(T.triage("Answer directly."), pieceBytes: 64))
            await server.enqueue(
                ScriptedModelServer.stream(
                    T.openAIChunk(#"{"role":"assistant","content":""}"#) + T.openAIChunk(#"{"content":"Let me"}"#)
                        + T.openAIChunk(#"{"content":" check"}"#)
                        + #"data: {"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#
                        + "\n\n",
                    pieceBytes: 10
                )
            )
            let run = await run("hello", server: server, model: model)
            expectUnavailable(
                run,
                agent: "assistant",
                message: "the model server reported an error mid-answer: The server had an error while processing your request. Sorry about that!"
            )
            #expect(run.streamed == "Let me check")
            #expect(run.requests.count == 2)
        }
    }

    @Test("429 with Retry-After 0, then 1, then success: the answer arrives once, in full")
    func rateLimitedThenSuccess() async throws {
        try await withServer { server, model in
            await server.enqueue(ScriptedModelServer.stream(T.triage("Answer directly."), pieceBytes: 64))
            let limited =
                #"{"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.","type":"requests","code":"rate_limit_exceeded"}}"#
            await server.enqueue(ScriptedModelServer.status(429, body: limited, headers: [("Retry-After", "0")]))
            await server.enqueue(ScriptedModelServer.status(429, body: limited, headers: [("Retry-After", "1")]))
            await server.enqueue(ScriptedModelServer.stream(T.openAIText(["Third ", "time lucky."]), pieceBytes: 6))
            let run = await run("hello", server: server, model: model)

            #expect(run.violations == [])
            #expect(run.outcome == .completed(report: "Third time lucky."))
            #expect(run.streamed == "Third time lucky.")
            #expect(run.requests.count == 4)
            #expect(run.requests[1].body == run.requests[2].body)
            #expect(run.requests[2].body == run.requests[3].body)
        }
    }

    @Test("500 after every retry ends the run with llm_unavailable, naming the status and the attempts")
    func serverErrorAfterRetries() async throws {
        try await withServer(retries: 2) { server, model in
            for _ in 0..<3 {
                await server.enqueue(ScriptedModelServer.status(500, body: #"{"error":{"message":"boom","type":"server_error"}}"#))
            }
            let run = await run("hello", server: server, model: model)
            expectUnavailable(run, agent: "triage", message: "the model server answered HTTP 500 Internal Server Error: boom (after 3 attempts)")
            #expect(run.requests.count == 3)
        }
    }

    @Test("401 is not retried, and the key the server echoes is redacted")
    func unauthorized() async throws {
        try await withServer { server, model in
            let body =
                #"{"error":{"message":"Incorrect API key provided: \#(Self.apiKey). You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#
            await server.enqueue(ScriptedModelServer.status(401, body: body))
            let run = await run("hello", server: server, model: model)
            expectUnavailable(
                run,
                agent: "triage",
                message:
                    "the model server answered HTTP 401 Unauthorized: Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys.",
                retryable: false
            )
            #expect(run.requests.count == 1)
        }
    }

    @Test("the API key reaches no log line and no event, whatever the server echoes; logs name the server and model")
    func keyNeverLogged() async throws {
        let server = try await ScriptedModelServer.start()
        let (logger, lines) = RecordingLogHandler.logger()
        let model = OpenAICompatibleModel(settings: Self.settings(server.baseURL, retries: 1), logger: logger)
        let echo = #"{"error":{"message":"bad key \#(Self.apiKey) (Authorization: Bearer \#(Self.apiKey))"}}"#
        await server.enqueue(ScriptedModelServer.status(503, body: echo))
        await server.enqueue(ScriptedModelServer.status(401, body: echo))
        let sink = CollectingEventSink()
        let configuration = EngineConfiguration(emitRetry: EmitRetryPolicy(maximumDuration: .seconds(5), initialDelay: .milliseconds(1)))
        let engine = ExecutionEngine(
            sink: sink,
            suspender: RecordingSuspender(sink: sink),
            model: model,
            tools: ToolRegistry.standard(docs: .empty),
            configuration: configuration.prompting(with: Self.prompts),
            logger: logger
        )
        let outcome = await engine.run(TestSupport.input("hello"))
        try await model.shutdown()
        try await server.stop()

        #expect(
            outcome
                == .failed(
                    code: .llmUnavailable,
                    message:
                        "the language model is unavailable: the model server answered HTTP 401 Unauthorized: bad key [redacted] (Authorization: Bearer [redacted]) (after 2 attempts)"
                )
        )
        #expect(await TestSupport.violations(sink) == [])
        let logged = lines.all
        #expect(
            logged.contains {
                $0.contains("model request failed; trying again") && $0.contains("base_url=\(server.baseURL)") && $0.contains("model=test-model")
            }
        )
        #expect(!logged.isEmpty)
        #expect(logged.allSatisfy { !$0.contains(Self.apiKey) })
        #expect(await sink.events.allSatisfy { !"\($0.payload)".contains(Self.apiKey) })
    }

    @Test("a connection dropped mid-stream ends the run with llm_unavailable; text already shown is not repeated")
    func droppedConnection() async throws {
        try await withServer { server, model in
            let sink = CollectingEventSink()
            await server.enqueue(ScriptedModelServer.stream(T.triage("Answer directly."), pieceBytes: 64))
            // The drop waits until "Hello" reached the user: a connection that closes first may take
            // bytes the client had not yet read with it, and then the model rightly tries again.
            let helloShown: @Sendable () async -> Void = {
                await sink.waitFor { if case .partialResult(let body) = $0.payload { body.content == "Hello" } else { false } }
            }
            await server.enqueue(
                ScriptedModelServer.stream(
                    T.openAIChunk(#"{"role":"assistant","content":""}"#) + T.openAIChunk(#"{"content":"Hello"}"#)
                        + #"data: {"id":"chatcmpl-AbC123","object":"chat.comp"#,
                    pieceBytes: 20,
                    end: .waitUntil(helloShown)
                ) + [.drop]
            )
            let run = await run("hello", sink: sink, server: server, model: model)
            #expect(run.violations == [])
            #expect(run.streamed == "Hello")
            guard case .failed(code: .llmUnavailable, let message) = run.outcome else {
                Issue.record("expected llm_unavailable, got \(run.outcome)")
                return
            }
            #expect(message.hasPrefix("the language model is unavailable: the connection to the model server "))
            #expect(run.errors.map(\.agentName) == ["assistant", "supervisor"])
            #expect(run.requests.count == 2)
        }
    }

    @Test("a malformed JSON chunk ends the run with llm_unavailable")
    func malformedChunk() async throws {
        try await withServer { server, model in
            await server.enqueue(ScriptedModelServer.stream(T.triage("Answer directly."), pieceBytes: 64))
            await server.enqueue(
                ScriptedModelServer.stream(
                    T.openAIChunk(#"{"content":"Hi"}"#) + #"data: {"choices":[{"index":0,"delta":{"content":" there"}"# + "\n\n" + T.done,
                    pieceBytes: 8
                )
            )
            let run = await run("hello", server: server, model: model)
            expectUnavailable(
                run,
                agent: "assistant",
                message:
                    #"the model server sent a malformed stream (not a chat completion chunk: {"choices":[{"index":0,"delta":{"content":" there"})"#
            )
            #expect(run.streamed == "Hi")
        }
    }

    @Test("a server that accepts and sends nothing ends the run at the first-token timeout, and its request is closed")
    func silentServer() async throws {
        try await withServer(firstTokenTimeout: .seconds(1)) { server, model in
            await server.enqueue([.hang])
            let run = await run("hello", server: server, model: model)
            expectUnavailable(run, agent: "triage", message: "the model server sent nothing within 1 s of the request")
            #expect(run.requests.count == 1)
            await server.waitForClosedConnections(1)
        }
    }

    @Test("an unreachable server ends the run with llm_unavailable after the retries")
    func unreachable() async throws {
        // A port that was just free: nothing listens there.
        let port = try FreePort.allocate()
        let model = OpenAICompatibleModel(
            settings: Self.settings("http://127.0.0.1:\(port)/v1", retries: 1, connectTimeout: .seconds(1)),
            logger: TestSupport.logger
        )
        let sink = CollectingEventSink()
        let outcome = await Self.engine(sink, model: model).run(TestSupport.input("hello"))
        try await model.shutdown()
        #expect(await TestSupport.violations(sink) == [])
        guard case .failed(code: .llmUnavailable, let message) = outcome else {
            Issue.record("expected llm_unavailable, got \(outcome)")
            return
        }
        #expect(message.hasPrefix("the language model is unavailable: cannot reach the model server ("))
        #expect(message.hasSuffix("(after 2 attempts)"))
        #expect(
            await sink.events.compactMap { if case .agentError(let body) = $0.payload { body.agentName } else { nil } } == ["triage", "supervisor"]
        )
    }

    @Test("cancelling the run closes the HTTP stream at once and ends the run cancelled")
    func cancellation() async throws {
        try await withServer { server, model in
            await server.enqueue(ScriptedModelServer.stream(T.triage("Answer directly."), pieceBytes: 64))
            await server.enqueue(
                ScriptedModelServer.stream(
                    T.openAIChunk(#"{"role":"assistant","content":""}"#) + T.openAIChunk(#"{"content":"Once upon"}"#),
                    pieceBytes: 1000,
                    end: .hang
                )
            )
            let sink = CollectingEventSink()
            let engine = Self.engine(sink, model: model)
            let running = Task { await engine.run(TestSupport.input("tell me a long story")) }
            await sink.waitFor { $0.type == .partialResult }
            running.cancel()
            #expect(await running.value == .cancelled)
            // Both connections end: the triage's (the server closed it) and the hanging one, which only the client can close.
            await server.waitForClosedConnections(2)
            #expect(await TestSupport.violations(sink) == [])
            let closings = await sink.events.compactMap { if case .agentCompleted(let body) = $0.payload { body } else { nil } }
            #expect(closings.map(\.agentName) == ["triage", "assistant", "supervisor"])
            #expect(closings.map(\.status) == [.success, .cancelled, .cancelled])
        }
    }
}
