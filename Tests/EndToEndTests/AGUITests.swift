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
            let first = try await client.send(.POST, "/agui", json: Self.input(thread: thread, message: "wait 5 seconds"), until: { $0.contains("TOOL_CALL_START") })
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

    @Test func withoutAValidTokenJWTModeAnswers401() async throws {
        let secret = "agui-test-secret-that-is-at-least-32-bytes"
        try await withDeployment(workers: 1, environment: ["HERALD_JWT_SECRET": secret]) { deployment in
            let client = SSETestClient(port: deployment.gatewayPort)
            let body = Self.input(thread: "t-jwt", message: "what is 2+2?")
            for headers in [[:], Self.bearer("not-a-token"), Self.bearer(LogSecrecyTests.jwt(sub: "alice", secret: secret, expires: Date().addingTimeInterval(-60)))] {
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
}
