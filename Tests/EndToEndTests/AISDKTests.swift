import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

/// `POST /api/chat` and `GET /api/chat/{id}/stream` (the Vercel AI SDK's UI message stream v1) against the real
/// executables: the parts and their order, the protocol's header and `[DONE]`, refusals before the stream, and a
/// run resumed through a second gateway after the one that started it was killed.
@Suite(.timeLimit(.minutes(4)))
struct AISDKTests {
    private static func chat(_ id: String, _ text: String) -> String {
        JSONValue.object([
            "id": .string(id), "trigger": "submit-message",
            "messages": [["id": .string(UUID().uuidString), "role": "user", "parts": [["type": "text", "text": .string(text)]]]],
        ]).jsonString()
    }

    /// The parts as JSON objects, without the transient `data-herald-event` parts and the final `[DONE]`.
    private static func parts(_ events: [String]) -> [[String: JSONValue]] {
        events.compactMap { try? JSONValue.parse($0).objectValue }.filter { $0["type"]?.stringValue != "data-herald-event" }
    }

    private static func types(_ parts: [[String: JSONValue]]) -> [String] { parts.compactMap { $0["type"]?.stringValue } }

    private static func text(_ parts: [[String: JSONValue]]) -> String {
        parts.filter { $0["type"]?.stringValue == "text-delta" }.compactMap { $0["delta"]?.stringValue }.joined()
    }

    /// The checks `useChat`'s stream processing relies on: `start` first, each text and reasoning part inside its
    /// start and end, tool outputs after their input, `finish` (or `abort`, `error`) last, then `[DONE]`.
    private static func expectWellFormed(_ events: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(events.last == "[DONE]", sourceLocation: sourceLocation)
        let parts = Self.parts(events)
        #expect(types(parts).first == "start", sourceLocation: sourceLocation)
        #expect(["finish", "abort", "error"].contains(types(parts).last ?? ""), sourceLocation: sourceLocation)
        var open = Set<String>()
        var inputs = Set<String>()
        for part in parts {
            let type = part["type"]?.stringValue ?? ""
            let id = part["id"]?.stringValue ?? ""
            switch type {
            case "text-start", "reasoning-start": #expect(open.insert(id).inserted, "\(type) twice for \(id)", sourceLocation: sourceLocation)
            case "text-delta", "reasoning-delta": #expect(open.contains(id), "\(type) outside its part \(id)", sourceLocation: sourceLocation)
            case "text-end", "reasoning-end": #expect(open.remove(id) != nil, "\(type) of a part not open: \(id)", sourceLocation: sourceLocation)
            case "tool-input-available": inputs.insert(part["toolCallId"]?.stringValue ?? "")
            case "tool-output-available", "tool-output-error":
                #expect(inputs.contains(part["toolCallId"]?.stringValue ?? ""), "\(type) before its input", sourceLocation: sourceLocation)
            default: break
            }
        }
        #expect(open.isEmpty, "parts left open: \(open)", sourceLocation: sourceLocation)
    }

    @Test func aChatRequestStreamsTheRunAsUIMessageParts() async throws {
        try await withDeployment(workers: 1) { deployment in
            let client = SSETestClient(port: deployment.gatewayPort)
            let chatID = "chat\(UInt32.random(in: 0...UInt32.max))"
            let answer = try await client.send(.POST, "/api/chat", json: Self.chat(chatID, "what is (17*3)+4?"))
            #expect(answer.status == 200)
            #expect(answer.header("x-vercel-ai-ui-message-stream") == "v1")
            #expect(answer.header("content-type") == "text/event-stream")
            Self.expectWellFormed(answer.events)
            let parts = Self.parts(answer.events)
            #expect(Self.types(parts).last == "finish")
            #expect(Self.text(parts).contains("55"))
            let output = parts.first { $0["type"]?.stringValue == "tool-output-available" }
            #expect(output?["output"]?["value"]?.numberValue == 55)
            #expect(parts.contains { $0["type"]?.stringValue == "data-herald-final-report" })
            // Every Herald event went along as a transient data part, in seq order.
            let heraldSeqs = answer.events.compactMap { try? JSONValue.parse($0) }.filter { $0["type"]?.stringValue == "data-herald-event" }
                .compactMap { $0["data"]?["seq"]?.numberValue }
            #expect(heraldSeqs == (1...heraldSeqs.count).map(Double.init))
            // A division by zero is a tool error part, and the run still finishes.
            let divided = try await client.send(
                .POST,
                "/api/chat",
                json: Self.chat(chatID, "what is 1/0?"),
                headers: ["Authorization": "Bearer \(try #require(answer.header("x-herald-guest-token")))"]
            )
            Self.expectWellFormed(divided.events)
            #expect(Self.parts(divided.events).contains { $0["type"]?.stringValue == "tool-output-error" })
            await client.shutdown()
        }
    }

    @Test func refusalsAreJSONBeforeAnyStream() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_OFFLINE_DELAY_MS": "20"]) { deployment in
            let client = SSETestClient(port: deployment.gatewayPort)
            let malformed = try await client.send(.POST, "/api/chat", json: #"{"id":"c","messages":"nope"}"#)
            #expect(malformed.status == 400)
            #expect((try? JSONValue.parse(malformed.body))?["error"]?.stringValue == "bad_request")
            let chatID = "chat\(UInt32.random(in: 0...UInt32.max))"
            let first = try await client.send(
                .POST,
                "/api/chat",
                json: Self.chat(chatID, "wait 3 seconds"),
                until: { $0.contains("tool-input-available") }
            )
            let token = try #require(first.header("x-herald-guest-token"))
            let busy = try await client.send(.POST, "/api/chat", json: Self.chat(chatID, "hello"), headers: ["Authorization": "Bearer \(token)"])
            #expect(busy.status == 409)
            #expect((try? JSONValue.parse(busy.body))?["error"]?.stringValue == "thread_busy")
            let stranger = try await client.send(.GET, "/api/chat/\(chatID)/stream")
            #expect(stranger.status == 404)
            await client.shutdown()
        }
    }

    @Test func aRunIsResumedThroughAnotherGatewayAfterTheOneThatStartedItWasKilled() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_OFFLINE_DELAY_MS": "20"]) { deployment in
            let second = try await deployment.startAnotherGateway()
            let first = SSETestClient(port: deployment.gatewayPort)
            let chatID = "chat\(UInt32.random(in: 0...UInt32.max))"
            let before = try await first.send(
                .POST,
                "/api/chat",
                json: Self.chat(chatID, "wait 2 seconds and then tell me what is 6*7"),
                until: { $0.contains("tool-input-available") }
            )
            let token = try #require(before.header("x-herald-guest-token"))
            deployment.gateway?.kill9()
            await first.shutdown()

            let other = SSETestClient(port: second.port)
            let resumed = try await other.send(.GET, "/api/chat/\(chatID)/stream", headers: ["Authorization": "Bearer \(token)"])
            #expect(resumed.status == 200)
            #expect(resumed.header("x-vercel-ai-ui-message-stream") == "v1")
            Self.expectWellFormed(resumed.events)
            // The resumed stream is the whole message: what was seen before the gateway died is its start, part for
            // part, and the answer's text comes once.
            #expect(Array(resumed.events.prefix(before.events.count)) == before.events)
            let text = Self.text(Self.parts(resumed.events))
            #expect(text.contains("42"))
            #expect(text.components(separatedBy: "42").count == 2)
            let idle = try await other.send(.GET, "/api/chat/\(chatID)/stream", headers: ["Authorization": "Bearer \(token)"])
            #expect(idle.status == 204)
            await other.shutdown()
        }
    }
}
