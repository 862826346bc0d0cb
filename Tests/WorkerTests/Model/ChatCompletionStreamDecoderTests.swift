import HeraldCore
import HeraldProtocol
import Testing

@testable import Worker

@Suite("Chat completion stream decoder")
struct ChatCompletionStreamDecoderTests {
    private func decode(_ data: [String], type: String? = nil) throws(ProviderFailure) -> [ModelStreamEvent] {
        var decoder = ChatCompletionStreamDecoder()
        var events: [ModelStreamEvent] = []
        for text in data { events += try decoder.decode(ServerSentEvent(type: type, data: text)) }
        return events + (try decoder.finish())
    }

    private func failure(_ data: [String], type: String? = nil) -> ProviderFailure? {
        do {
            _ = try decode(data, type: type)
            return nil
        } catch {
            return error
        }
    }

    @Test("text as it comes, then usage and finish")
    func text() throws {
        let events = try decode([
            #"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            #"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
            #"{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}"#,
            #"{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"#,
            #"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
            "[DONE]",
        ])
        #expect(events == [.textDelta("Hel"), .textDelta("lo"), .usage(ModelUsage(promptTokens: 12, completionTokens: 3)), .finish(.length)])
    }

    @Test("tool calls come out at the finish reason, even when the server says stop (Ollama)")
    func toolCallsAtFinish() throws {
        let events = try decode([
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_1","index":0,"type":"function","function":{"name":"calculator","arguments":"{\"expression\":\"2+2\"}"}}]}}]}"#,
            #"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            "[DONE]",
        ])
        #expect(events == [.toolCall(ModelToolCall(id: "call_1", name: "calculator", arguments: #"{"expression":"2+2"}"#)), .finish(.toolCalls)])
    }

    @Test("arguments sent as an object become JSON text")
    func objectArguments() throws {
        let events = try decode([
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"c","function":{"name":"clock","arguments":{"time_zone":"UTC"}}}]},"finish_reason":"tool_calls"}]}"#
        ])
        #expect(events.first == .toolCall(ModelToolCall(id: "c", name: "clock", arguments: #"{"time_zone":"UTC"}"#)))
    }

    @Test("[DONE] alone ends the answer; a finish reason without [DONE] does too")
    func endings() throws {
        #expect(try decode([#"{"choices":[{"delta":{"content":"x"}}]}"#, "[DONE]"]) == [.textDelta("x"), .finish(.stop)])
        #expect(try decode([#"{"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}]}"#]) == [.textDelta("x"), .finish(.stop)])
    }

    @Test("a stream that stops with neither was cut off, and may be tried again")
    func cutOff() {
        let failure = failure([#"{"choices":[{"delta":{"content":"x"}}]}"#])
        #expect(failure?.transient == true)
        #expect(failure?.message == "the connection to the model server closed before the answer was complete")
    }

    @Test("an error object or an error event mid-stream fails with the server's message")
    func errors() {
        #expect(
            failure([#"{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}"#])?.message
                == "the model server reported an error mid-answer: The server had an error while processing your request."
        )
        #expect(failure([#"{"error":"model is overloaded"}"#])?.message == "the model server reported an error mid-answer: model is overloaded")
        #expect(failure([#"{"message":"out of memory"}"#], type: "error")?.message == "the model server reported an error mid-answer: out of memory")
    }

    @Test("a chunk that is not JSON, or a tool call without a name, is a malformed stream")
    func malformed() {
        let notJSON = failure([#"{"choices":[{"delta":{"content":"x"}"#])
        #expect(notJSON?.message.hasPrefix("the model server sent a malformed stream") == true)
        #expect(notJSON?.transient == false)
        let nameless = failure([
            #"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c","function":{"arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#
        ])
        #expect(nameless?.message == "the model server sent a malformed tool call (tool call 0 has no function name)")
    }

    @Test("choices other than the first are ignored")
    func otherChoices() throws {
        #expect(
            try decode([#"{"choices":[{"index":1,"delta":{"content":"no"}},{"index":0,"delta":{"content":"yes"}}]}"#, "[DONE]"])
                == [.textDelta("yes"), .finish(.stop)]
        )
    }
}

@Suite("Chat completion request body")
struct ChatCompletionRequestBodyTests {
    @Test("messages, tool calls, tool results and tools in the API's shape")
    func body() throws {
        let request = ModelRequest(
            messages: [
                .system("Be brief."),
                .user("what is 2+2?"),
                .assistant("", toolCalls: [ModelToolCall(id: "call_1", name: "calculator", arguments: #"{"expression":"2+2"}"#)]),
                .tool(callID: "call_1", content: #"{"value":4}"#),
            ],
            tools: [ToolSpec(name: "calculator", description: "Arithmetic.", parameters: ["type": "object"])]
        )
        let body = ChatCompletionRequestBody.json(for: request, model: "gpt-4o-mini")
        let expected: JSONValue = [
            "model": "gpt-4o-mini",
            "stream": true,
            "stream_options": ["include_usage": true],
            "messages": [
                ["role": "system", "content": "Be brief."],
                ["role": "user", "content": "what is 2+2?"],
                [
                    "role": "assistant", "content": nil,
                    "tool_calls": [
                        ["id": "call_1", "type": "function", "function": ["name": "calculator", "arguments": #"{"expression":"2+2"}"#]]
                    ],
                ],
                ["role": "tool", "content": #"{"value":4}"#, "tool_call_id": "call_1"],
            ],
            "tools": [["type": "function", "function": ["name": "calculator", "description": "Arithmetic.", "parameters": ["type": "object"]]]],
        ]
        #expect(body == expected)
        #expect(ChatCompletionRequestBody.json(for: ModelRequest(messages: [.user("hi")]), model: "m")["tools"] == nil)
    }
}

@Suite("Provider text")
struct ProviderTextTests {
    @Test("the API key, bearer tokens and OpenAI-style keys are redacted; whitespace collapses")
    func redaction() {
        let key = "sk-proj-AbCdEf0123456789"
        let text = "Incorrect API key provided: \(key).\nHeader was Authorization: Bearer abc.def-123 and sk-abcdef***wxyz"
        #expect(
            ProviderText.clean(text, secrets: [key])
                == "Incorrect API key provided: [redacted]. Header was Authorization: Bearer [redacted] and sk-[redacted]"
        )
        #expect(ProviderText.clean("my-local-secret in body", secrets: ["my-local-secret"]) == "[redacted] in body")
    }

    @Test("long text is cut with an ellipsis")
    func truncation() {
        let cleaned = ProviderText.clean(String(repeating: "a", count: 500), secrets: [])
        #expect(cleaned.count == ProviderText.maximumCharacters + 1)
        #expect(cleaned.hasSuffix("…"))
    }

    @Test(
        "the message of each provider's error body",
        arguments: [
            (#"{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}"#, "Incorrect API key"),
            (#"{"error":"model 'llama9' not found"}"#, "model 'llama9' not found"),
            (#"{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","code":404}"#, "The model `x` does not exist."),
            (#"{"detail":[{"loc":["body","messages"],"msg":"field required"}]}"#, "field required"),
            ("<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        ]
    )
    func errorBodies(_ body: String, _ message: String) {
        #expect(ProviderText.message(inBody: body) == message)
    }
}

@Suite("Model retry policy")
struct ModelRetryPolicyTests {
    @Test("backoff doubles up to the cap, jitter takes half to all of it")
    func backoff() {
        let policy = ModelRetryPolicy(maximumRetries: 5, initialDelay: .milliseconds(500), maximumDelay: .seconds(3))
        #expect(
            (1...5).map { policy.delay(beforeRetry: $0, retryAfter: nil, jitter: 1) }
                == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(3), .seconds(3)]
        )
        #expect(policy.delay(beforeRetry: 2, retryAfter: nil, jitter: 0.5) == .milliseconds(500))
        let random = policy.delay(beforeRetry: 3, retryAfter: nil)
        #expect(random >= .seconds(1) && random <= .seconds(2))
    }

    @Test("Retry-After is honoured up to the cap")
    func retryAfter() {
        let policy = ModelRetryPolicy(maximumRetries: 2, initialDelay: .milliseconds(500), maximumDelay: .seconds(20))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .zero) == .zero)
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(7)) == .seconds(7))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(120)) == .seconds(20))
    }

    @Test("Retry-After headers", arguments: [("0", Duration.zero), ("1", .seconds(1)), (" 30 ", .seconds(30))])
    func headers(_ header: String, _ expected: Duration) {
        #expect(ModelRetryPolicy.retryAfter(header: header) == expected)
    }

    @Test("unreadable Retry-After headers are ignored")
    func badHeaders() {
        for header in ["Wed, 21 Oct 2015 07:28:00 GMT", "-1", "soon", ""] {
            #expect(ModelRetryPolicy.retryAfter(header: header) == nil)
        }
        #expect(ModelRetryPolicy.retryAfter(header: nil) == nil)
    }
}
