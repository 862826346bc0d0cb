import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

/// `POST /agui` and `GET /agui/{threadId}` against the real executables, with a real HTTP client: refusals before the
/// stream, a stream picked up through another gateway after the first was killed, and a reader that stalls.
/// (Tests/agui checks every stream with the official Python SDK and the AG-UI client's ordering rules.)
@Suite(.timeLimit(.minutes(4)))
struct AGUITests {
    private static func input(thread: String, run: String = UUID().uuidString, message: String) -> String {
        JSONValue.object([
            "threadId": .string(thread), "runId": .string(run), "state": [:], "tools": [], "context": [], "forwardedProps": [:],
            "messages": [["id": .string(UUID().uuidString), "role": "user", "content": .string(message)]],
        ]).jsonString()
    }

    private static func decoded(_ events: [String]) -> [[String: JSONValue]] {
        events.compactMap { try? JSONValue.parse($0).objectValue }
    }

    private static func types(_ events: [[String: JSONValue]]) -> [String] {
        events.compactMap { $0["type"]?.stringValue }
    }

    private static func text(_ events: [[String: JSONValue]]) -> String {
        events.filter { $0["type"]?.stringValue == "TEXT_MESSAGE_CONTENT" }.compactMap { $0["delta"]?.stringValue }.joined()
    }

    private static func bearer(_ token: String) -> [String: String] { ["Authorization": "Bearer \(token)"] }

    @Test func refusalsAreJSONWithTheirStatusAndNeverAStream() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_MAX_REQUEST_BYTES": "2048", "HERALD_OFFLINE_DELAY_MS": "20"]) { deployment in
            let client = SSETestClient(port: deployment.gatewayPort)
            func expectRefusal(_ answer: SSETestClient.Answer, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(answer.status == status, sourceLocation: sourceLocation)
                #expect(answer.header("content-type") == "application/json", sourceLocation: sourceLocation)
                #expect((try? JSONValue.parse(answer.body))?["error"]?.stringValue == code, "body: \(answer.body)", sourceLocation: sourceLocation)
                #expect(answer.events.isEmpty, sourceLocation: sourceLocation)
            }
            expectRefusal(try await client.send(.POST, "/agui", json: "{not json"), 400, "bad_request")
            expectRefusal(try await client.send(.POST, "/agui", json: #"{"threadId":"t","runId":"r","messages":[]}"#), 400, "bad_request")
            let tooLarge = Self.input(thread: "t-large", message: String(repeating: "x", count: 4000))
            expectRefusal(try await client.send(.POST, "/agui", json: tooLarge), 413, "too_large")

            // A guest starts a long run on a thread; a second request on it is busy, another guest's is not found.
            let thread = "agui-\(UUID().uuidString)"
            let first = try await client.send(
                .POST,
                "/agui",
                json: Self.input(thread: thread, message: "wait 5 seconds"),
                until: { $0.contains("TOOL_CALL_START") }
            )
            #expect(first.status == 200)
            let token = try #require(first.header("x-herald-guest-token"))
            let busy = try await client.send(.POST, "/agui", json: Self.input(thread: thread, message: "hello"), headers: Self.bearer(token))
            expectRefusal(busy, 409, "thread_busy")
            let stranger = try await client.send(.POST, "/agui", json: Self.input(thread: thread, message: "hello"))
            expectRefusal(stranger, 404, "not_found")
            let strangerWatch = try await client.send(.GET, "/agui/\(thread)")
            expectRefusal(strangerWatch, 404, "not_found")
            // A run id used before cannot start another run.
            await client.shutdown()
        }
    }

    @Test func streamsOverTheUsersLimitAre429AndOpenStreamsAreCountedByEndpoint() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_MAX_CONNECTIONS_PER_USER": "2", "HERALD_OFFLINE_DELAY_MS": "20"]) { deployment in
            let client = SSETestClient(port: deployment.gatewayPort)
            let port = deployment.gatewayPort
            let open = #"herald_gateway_sse_streams{endpoint="agui"}"#
            func streamsOpen() async throws -> Double {
                Metrics.value(of: open, in: try await HTTPProbe.get(port: port, path: "/metrics").body)
            }
            let first = try await client.send(.POST, "/agui", json: Self.input(thread: "agui-\(UUID().uuidString)", message: "what is 1+1?"))
            let token = try #require(first.header("x-herald-guest-token"))
            // Two long runs' streams hold the user's two places (far longer than the next request takes).
            let long = (0..<2).map { _ in
                Task {
                    try await client.send(
                        .POST,
                        "/agui",
                        json: Self.input(thread: "agui-\(UUID().uuidString)", message: "wait 10 seconds and then tell me what is 2+2"),
                        headers: Self.bearer(token)
                    )
                }
            }
            try await waitUntil("both streams are open") { try await streamsOpen() == 2 }
            let third = try await client.send(
                .POST,
                "/agui",
                json: Self.input(thread: "agui-\(UUID().uuidString)", message: "hello"),
                headers: Self.bearer(token)
            )
            #expect(third.status == 429)
            #expect((try? JSONValue.parse(third.body))?["error"]?.stringValue == "rate_limited")
            #expect(third.events.isEmpty)
            for stream in long {
                let answer = try await stream.value
                #expect(answer.status == 200)
                #expect(Self.types(Self.decoded(answer.events)).last == "RUN_FINISHED")
            }
            try await waitUntil("the streams are counted closed") { try await streamsOpen() == 0 }
            let metrics = try await HTTPProbe.get(port: port, path: "/metrics").body
            #expect(Metrics.value(of: #"herald_gateway_sse_streams_opened_total{endpoint="agui"}"#, in: metrics) == 3)
            // No WebSocket took part: the latency histogram counted the streams' live events.
            #expect(Metrics.value(of: "herald_gateway_connections", in: metrics) == 0)
            #expect(Metrics.value(of: "herald_gateway_event_latency_seconds_count", in: metrics) > 0)
            await client.shutdown()
        }
    }

    @Test func withoutAValidTokenJWTModeAnswers401() async throws {
        let secret = "agui-test-secret-that-is-at-least-32-bytes"
        try await withDeployment(workers: 1, environment: ["HERALD_JWT_SECRET": secret]) { deployment in
            let client = SSETestClient(port: deployment.gatewayPort)
            let body = Self.input(thread: "t-jwt", message: "what is 2+2?")
            for headers in [
                [:], Self.bearer("not-a-token"),
                Self.bearer(LogSecrecyTests.jwt(sub: "alice", secret: secret, expires: Date().addingTimeInterval(-60))),
            ] {
                let answer = try await client.send(.POST, "/agui", json: body, headers: headers)
                #expect(answer.status == 401)
                #expect((try? JSONValue.parse(answer.body))?["error"]?.stringValue == "unauthorized")
            }
            let alice = LogSecrecyTests.jwt(sub: "alice", secret: secret, expires: Date().addingTimeInterval(3600))
            let answer = try await client.send(.POST, "/agui", json: body, headers: Self.bearer(alice))
            #expect(answer.status == 200)
            let events = Self.decoded(answer.events)
            #expect(Self.types(events).first == "RUN_STARTED")
            #expect(Self.types(events).last == "RUN_FINISHED")
            #expect(Self.text(events).contains("4"))
            await client.shutdown()
        }
    }

    @Test func aStreamIsTheSameAsItsConnectionsFirstRequestAndAfterOthersOnAKeptAliveConnection() async throws {
        try await withDeployment(workers: 1) { deployment in
            let client = SSETestClient(port: deployment.gatewayPort)
            let message = "what is (17*3)+4?"
            // A new connection's first request: served by the pipeline's own handlers, the socket closes with the stream.
            let first = try await client.send(.POST, "/agui", json: Self.input(thread: "agui-\(UUID().uuidString)", message: message))
            #expect(first.status == 200)
            #expect(first.header("connection") == "close")
            // A plain request keeps its connection open; the stream after it on that connection is the router's.
            let health = try await client.send(.GET, "/healthz")
            #expect(health.status == 200)
            #expect(health.header("connection") != "close")
            let second = try await client.send(.POST, "/agui", json: Self.input(thread: "agui-\(UUID().uuidString)", message: message))
            #expect(second.status == 200)
            #expect(second.header("connection") != "close")
            #expect(second.header("content-type") == first.header("content-type"))
            let firstEvents = Self.decoded(first.events)
            let secondEvents = Self.decoded(second.events)
            #expect(Self.types(firstEvents) == Self.types(secondEvents))
            #expect(Self.types(firstEvents).last == "RUN_FINISHED")
            #expect(Self.text(firstEvents) == Self.text(secondEvents))
            #expect(Self.text(firstEvents).contains("55"))
            await client.shutdown()
        }
    }

    @Test func aStreamCutOffWithItsGatewayIsPickedUpThroughAnotherFromTheRunsStart() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_OFFLINE_DELAY_MS": "20"]) { deployment in
            let second = try await deployment.startAnotherGateway()
            let first = SSETestClient(port: deployment.gatewayPort)
            let thread = "agui-\(UUID().uuidString)"
            let run = UUID().uuidString
            let body = Self.input(thread: thread, run: run, message: "wait 2 seconds and then tell me what is 6*7")
            let before = try await first.send(.POST, "/agui", json: body, until: { $0.contains("TOOL_CALL_START") })
            #expect(before.status == 200)
            let token = try #require(before.header("x-herald-guest-token"))
            deployment.gateway?.kill9()
            await first.shutdown()

            let other = SSETestClient(port: second.port)
            let idle = try await other.send(.GET, "/agui/agui-no-such-run-\(UUID().uuidString)", headers: Self.bearer(token))
            #expect(idle.status == 404)
            let picked = try await other.send(.GET, "/agui/\(thread)?runId=\(run)", headers: Self.bearer(token))
            #expect(picked.status == 200)
            let events = Self.decoded(picked.events)
            #expect(Self.types(events).first == "RUN_STARTED")
            #expect(Self.types(events).last == "RUN_FINISHED")
            #expect(events.first?["runId"]?.stringValue == run)
            #expect(events.first?["threadId"]?.stringValue == thread)
            // What the first stream showed before its gateway died is the start of the picked-up one, event for event.
            let seen = Self.decoded(before.events)
            #expect(Array(events.prefix(seen.count)) == seen)
            #expect(Self.text(events).contains("42"))
            // Picked up after its end: no active run, nothing to stream.
            let after = try await other.send(.GET, "/agui/\(thread)", headers: Self.bearer(token))
            #expect(after.status == 204)
            // The same request again (a client retrying) while the run is active would have joined it; now it ran.
            let again = try await other.send(.POST, "/agui", json: body, headers: Self.bearer(token))
            #expect(again.status == 400)
            await other.shutdown()
        }
    }

    @Test func aFrontEndToolIsOfferedToTheModelHandedToTheClientAndItsResultContinuesTheRun() async throws {
        let model = try await ScriptedModelServer.start()
        let tool: JSONValue = [
            "name": "confirm_booking", "description": "Asks the user to confirm a booking",
            "parameters": ["type": "object", "properties": ["date": ["type": "string"]], "required": ["date"]],
        ]
        // Run 1: triage, then the model calls the front-end tool. Run 2 (the tool's result): the model answers.
        await model.enqueue(ScriptedModelServer.stream(ProviderTranscripts.triage("The assistant should ask the user to confirm.")))
        let call =
            ProviderTranscripts.openAIChunk(
                #"{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_fe1","type":"function","function":{"name":"confirm_booking","arguments":""}}]}"#
            )
            + ProviderTranscripts.openAIChunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"date\":\"2026-12-24\"}"}}]}"#)
            + ProviderTranscripts.openAIChunk("{}", finish: "tool_calls") + ProviderTranscripts.done
        await model.enqueue(ScriptedModelServer.stream(call))
        await model.enqueue(ScriptedModelServer.stream(ProviderTranscripts.openAIText(["Booked", " for the 24th."])))
        let environment = ["HERALD_LLM_BASE_URL": model.baseURL, "HERALD_LLM_MODEL": "scripted-tools"]
        try await withDeployment(workers: 1, environment: environment) { deployment in
            let client = SSETestClient(port: deployment.gatewayPort)
            let thread = "agui-\(UUID().uuidString)"
            let first: JSONValue = [
                "threadId": .string(thread), "runId": "run-fe-1", "tools": [tool], "context": [], "state": [:], "forwardedProps": [:],
                "messages": [["id": "u1", "role": "user", "content": "book me in for Christmas Eve"]],
            ]
            let handed = try await client.send(.POST, "/agui", json: first.jsonString())
            #expect(handed.status == 200)
            let token = try #require(handed.header("x-herald-guest-token"))
            let events = Self.decoded(handed.events)
            #expect(Array(Self.types(events).suffix(2)).last == "RUN_FINISHED")
            let start = events.first { $0["type"] == "TOOL_CALL_START" }
            #expect(start?["toolCallName"] == "confirm_booking")
            #expect(start?["toolCallId"] == "call_fe1")
            let arguments = events.first { $0["type"] == "TOOL_CALL_ARGS" }?["delta"]?.stringValue.flatMap { try? JSONValue.parse($0) }
            #expect(arguments == ["date": "2026-12-24"])
            #expect(Self.types(events).contains("TOOL_CALL_END"))
            #expect(!Self.types(events).contains("TOOL_CALL_RESULT"), "the client runs the tool: no result from Herald")
            // The model was offered the tool with its schema as the client wrote it.
            let requests = await model.requests()
            let offered = requests.count > 1 ? requests[1].body["tools"] : nil
            guard case .array(let offeredTools)? = offered else {
                Issue.record("the assistant's request offered no tools: \(String(describing: offered))")
                return
            }
            let function = offeredTools.first { $0["function"]?["name"] == "confirm_booking" }?["function"]
            #expect(function?["parameters"] == tool["parameters"])

            // The client ran it; its next request carries the result and continues the conversation.
            let second: JSONValue = [
                "threadId": .string(thread), "runId": "run-fe-2", "tools": [tool],
                "messages": [
                    ["id": "u1", "role": "user", "content": "book me in for Christmas Eve"],
                    [
                        "id": "a1", "role": "assistant",
                        "toolCalls": [
                            ["id": "call_fe1", "type": "function", "function": ["name": "confirm_booking", "arguments": #"{"date":"2026-12-24"}"#]]
                        ],
                    ],
                    ["id": "t1", "role": "tool", "toolCallId": "call_fe1", "content": "confirmed by the user"],
                ],
            ]
            let continued = try await client.send(.POST, "/agui", json: second.jsonString(), headers: Self.bearer(token))
            #expect(continued.status == 200)
            let answer = Self.decoded(continued.events)
            #expect(Self.types(answer).first == "RUN_STARTED")
            #expect(Self.types(answer).last == "RUN_FINISHED")
            #expect(Self.text(answer) == "Booked for the 24th.")
            // The model saw its own call and the client's result, in order.
            let all = await model.requests()
            guard all.count == 3, case .array(let messages)? = all[2].body["messages"] else {
                Issue.record("expected three model requests, got \(all.count)")
                return
            }
            let assistant = messages.last { $0["role"] == "assistant" }
            let firstCall: JSONValue? = if case .array(let calls)? = assistant?["tool_calls"] { calls.first } else { nil }
            #expect(firstCall?["id"] == "call_fe1")
            #expect(messages.last?["role"] == "tool")
            #expect(messages.last?["tool_call_id"] == "call_fe1")
            #expect(messages.last?["content"] == "confirmed by the user")
            await client.shutdown()
        }
        try await model.stop()
    }

    @Test func theOfflineModelCallsAFrontEndToolItIsAskedToUseByName() async throws {
        try await withDeployment(workers: 1) { deployment in
            let client = SSETestClient(port: deployment.gatewayPort)
            let body: JSONValue = [
                "threadId": .string("agui-\(UUID().uuidString)"), "runId": .string(UUID().uuidString),
                "tools": [["name": "show_map", "description": "Shows a map", "parameters": ["type": "object"]]],
                "messages": [["id": "u1", "role": "user", "content": #"use show_map with {"city": "Lisbon", "zoom": 12}"#]],
            ]
            let answer = try await client.send(.POST, "/agui", json: body.jsonString())
            let events = Self.decoded(answer.events)
            #expect(events.first { $0["type"] == "TOOL_CALL_START" }?["toolCallName"] == "show_map")
            let raw = answer.events.first { $0.contains(#""type":"TOOL_CALL_ARGS""#) } ?? "{}"
            let delta = (try? JSONValue.parse(raw))?["delta"]?.stringValue ?? ""
            let arguments = try? JSONValue.parse(delta)
            #expect(arguments == ["city": "Lisbon", "zoom": 12], "TOOL_CALL_ARGS: \(raw)")
            #expect(Self.types(events).last == "RUN_FINISHED")
            await client.shutdown()
        }
    }
}
