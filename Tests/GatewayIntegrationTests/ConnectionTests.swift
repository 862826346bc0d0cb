import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

@testable import Gateway

@Suite("Connections", .timeLimit(.minutes(2)))
struct ConnectionTests {
    @Test("connection_established carries a guest token that keeps the same user on reconnect")
    func guestTokenReuse() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "guest reconnect") {
                let first = try await harness.connect()
                #expect(first.established.protocol == "herald.v1")
                #expect(first.userID.hasPrefix("guest_"))
                #expect(!first.established.connectionID.isEmpty)
                #expect(HeraldTimestamp.parse(first.established.serverTime) != nil)
                let token = try #require(first.established.guestToken)
                await first.close()

                let again = try await harness.connect(token: token)
                #expect(again.userID == first.userID)
                #expect(again.established.connectionID != first.established.connectionID)
                #expect(again.established.guestToken != nil)
                await again.close()

                let stranger = try await harness.connect()
                #expect(stranger.userID != first.userID)
                await stranger.close()
            }
        }
    }

    @Test("a token from another deployment's secret is refused with 401 before the upgrade")
    func guestModeRefusesForeignToken() async throws {
        try await GatewayHarness.with { harness in
            let foreign = try await GatewayHarness.with { other in
                try await within(60, "foreign token") {
                    let client = try await other.connect()
                    let token = try #require(client.established.guestToken)
                    await client.close()
                    return token
                }
            }
            let response = try await HTTPProbe.get(port: harness.port, path: "/ws?token=\(foreign)", headers: WebSocketHandshake.headers)
            #expect(response.status == 401)
            #expect(response.body.contains(#""error":"unauthorized""#))
        }
    }

    @Test("malformed JSON, unknown types, missing and mistyped fields get error frames; the connection keeps working")
    func badFrames() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "error frames") {
                let client = try await harness.connect()
                let cases: [(String, ErrorCode, String)] = [
                    ("{not json", .badRequest, "malformed JSON"),
                    ("[1,2,3]", .badRequest, "JSON object"),
                    (#"{"content":"hi"}"#, .badRequest, "'type'"),
                    (#"{"type":"dance"}"#, .unknownType, "dance"),
                    (#"{"type":"user_message"}"#, .badRequest, "'content'"),
                    (#"{"type":"user_message","content":42}"#, .badRequest, "'content'"),
                    (#"{"type":"user_message","content":"   "}"#, .badRequest, "'content'"),
                    (#"{"type":"user_message","content":"hi","thread_id":"bad id!"}"#, .badRequest, "'thread_id'"),
                    (#"{"type":"resume","thread_id":"thr_x","after_seq":"5"}"#, .badRequest, "'after_seq'"),
                    (#"{"type":"resume","thread_id":"thr_x","after_seq":-1}"#, .badRequest, "'after_seq'"),
                    (#"{"type":"cancel_run"}"#, .badRequest, "'run_id'"),
                ]
                for (text, code, mention) in cases {
                    try await client.sendRaw(text)
                    let error = try await client.nextError()
                    #expect(error.code == code, "\(text)")
                    #expect(error.message.contains(mention), "\(text) → \(error.message)")
                }
                try await client.send(.ping)
                let pong = try await client.next()
                guard case .server(.pong) = pong else {
                    Issue.record("expected pong, got \(pong)")
                    return
                }
                #expect(harness.metric(#"herald_gateway_errors_total{code="bad_request"}"#) == 10)
                #expect(harness.metric(#"herald_gateway_errors_total{code="unknown_type"}"#) == 1)
                await client.close()
            }
        }
    }

    @Test("ping gets pong")
    func pingPong() async throws {
        try await GatewayHarness.with { harness in
            // Bounds, not paces: in a full parallel run the gateway's tasks share two pool threads with every suite.
            try await within(60, "pong") {
                let client = try await harness.connect()
                for _ in 0..<3 {
                    try await client.sendRaw(#"{"type":"ping"}"#)
                    guard case .server(.pong) = try await client.next() else {
                        Issue.record("expected pong")
                        return
                    }
                }
                await client.close()
            }
        }
    }

    @Test("a binary frame closes the connection with 1003")
    func binaryFrame() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "close 1003") {
                let client = try await harness.connect()
                try await client.sendBinary([1, 2, 3])
                #expect(try await client.closeCode() == 1003)
            }
        }
    }

    @Test("a frame over HERALD_MAX_FRAME_BYTES closes the connection with 1009")
    func oversizedFrame() async throws {
        try await GatewayHarness.with(.tuned { $0.maxFrameBytes = 1024 }) { harness in
            try await within(60, "close 1009") {
                let client = try await harness.connect()
                let content = String(repeating: "x", count: 4096)
                try await client.sendRaw(#"{"type":"user_message","content":"\#(content)"}"#)
                #expect(try await client.closeCode() == 1009)
            }
        }
    }

    @Test("graceful shutdown closes every socket with 1001")
    func shutdownClosesWithGoingAway() async throws {
        let harness = try await GatewayHarness.start()
        do {
            try await within(60, "close 1001") {
                let first = try await harness.connect()
                let second = try await harness.connect()
                _ = try await first.startRun("hello")
                async let stopping: Void = harness.shutdownGateway()
                #expect(try await first.closeCode() == 1001)
                #expect(try await second.closeCode() == 1001)
                await stopping
                #expect(await harness.gateway.connectionCount == 0)
                #expect(await harness.gateway.watchedThreadCount == 0)
            }
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("the chat page, health, readiness and metrics are served on the same port")
    func httpRoutes() async throws {
        try await GatewayHarness.with { harness in
            let page = try await HTTPProbe.get(port: harness.port, path: "/")
            #expect(page.status == 200)
            #expect(page.body.contains("<title>Herald</title>"))
            #expect(page.body.contains("data-testid=\"message-input\""))
            let script = try await HTTPProbe.get(port: harness.port, path: "/app.js")
            #expect(script.status == 200)
            // The page is built on the browser client, served beside it.
            #expect(script.body.contains("herald-client.js"))
            let clientScript = try await HTTPProbe.get(port: harness.port, path: "/herald-client.js")
            #expect(clientScript.status == 200)
            #expect(clientScript.body.contains("herald.v1"))
            let declarations = try await HTTPProbe.get(port: harness.port, path: "/herald-client.d.ts")
            #expect(declarations.status == 200)
            #expect(declarations.head.lowercased().contains("content-type: application/typescript"))
            #expect(try await HTTPProbe.status(port: harness.port, path: "/style.css") == 200)
            #expect(try await HTTPProbe.status(port: harness.port, path: "/nope.js") == 404)
            #expect(try await HTTPProbe.status(port: harness.port, path: "/healthz") == 200)
            #expect(try await HTTPProbe.status(port: harness.port, path: "/readyz") == 200)

            let client = try await within(60, "connect") { try await harness.connect() }
            let metrics = try await HTTPProbe.get(port: harness.port, path: "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("herald_gateway_connections 1"))
            #expect(metrics.body.contains("herald_gateway_event_latency_seconds_bucket"))
            #expect(metrics.body.contains("herald_gateway_slow_consumer_disconnects_total"))
            await client.close()

            await harness.server.kill()
            #expect(try await HTTPProbe.status(port: harness.port, path: "/readyz") == 503)
            #expect(try await HTTPProbe.status(port: harness.port, path: "/healthz") == 200)
        }
    }

    @Test("content types of the static files")
    func contentTypes() async throws {
        try await GatewayHarness.with { harness in
            for (path, type) in [("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")] {
                let head = try await HTTPProbe.get(port: harness.port, path: path).head
                #expect(head.lowercased().contains("content-type: \(type)"), "\(path): \(head)")
            }
        }
    }
}

/// The headers of a WebSocket upgrade request, for probing refusals over plain HTTP.
enum WebSocketHandshake {
    static let headers = [
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Protocol": "herald.v1",
    ]
}
