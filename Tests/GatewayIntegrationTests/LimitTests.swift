import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

@testable import Gateway

@Suite("Limits", .timeLimit(.minutes(2)))
struct LimitTests {
    private func refusals(_ harness: GatewayHarness, _ limit: GatewayLimit) -> Double? {
        harness.metric(#"herald_gateway_limit_refusals_total{limit="\#(limit.rawValue)"}"#)
    }

    private func queuedRuns(_ harness: GatewayHarness) async throws -> Int? {
        try await harness.redis.send("XLEN", harness.keys.runQueue).int
    }

    @Test("content over HERALD_MAX_MESSAGE_CHARS gets too_large, queues nothing, and the connection keeps working")
    func messageLength() async throws {
        try await GatewayHarness.with(.tuned { $0.maxMessageCharacters = 100 }) { harness in
            try await within(60, "message length") {
                let client = try await harness.connect()
                // Characters, not bytes: 101 two-byte characters are over, 100 of them are not.
                let over = String(repeating: "é", count: 101)
                try await client.send(.userMessage(.init(content: over, clientMessageID: "long-1")))
                let error = try await client.nextError()
                #expect(error.code == .tooLarge)
                #expect(error.ref == "long-1")
                #expect(error.message.contains("100 characters"))
                #expect(try await queuedRuns(harness) == 0)
                #expect(await harness.gateway.watchedThreadCount == 0)

                let run = try await client.startRun(String(repeating: "é", count: 100), clientMessageID: "long-2")
                #expect(run.clientMessageID == "long-2")
                #expect(try await queuedRuns(harness) == 1)
                #expect(refusals(harness, .messageLength) == 1)
                #expect(harness.metric(#"herald_gateway_errors_total{code="too_large"}"#) == 1)
                await client.close()
            }
        }
    }

    @Test("messages over the rate get rate_limited with their ref and are otherwise ignored; the connection stays open")
    func rateLimit() async throws {
        try await GatewayHarness.with(
            .tuned {
                $0.rateLimitPerSecond = 5
                $0.rateLimitBurst = 3
            }
        ) { harness in
            try await within(60, "rate limit") {
                let client = try await harness.connect()
                // The burst, then a flood far past the rate, sent without waiting for answers.
                for _ in 0..<3 { try await client.send(.ping) }
                let flood = (4...40).map { "flood-\($0)" }
                for id in flood {
                    try await client.send(.userMessage(.init(content: "hello", clientMessageID: id)))
                }
                for index in 0..<3 {
                    guard case .server(.pong) = try await client.next() else {
                        Issue.record("message \(index) of the burst was not answered with pong")
                        return
                    }
                }
                // Each flood message has exactly one answer, in order. Those the rate let through on a slow
                // machine start runs (each on a thread of its own); the rest are refused.
                var limited = 0
                for id in flood {
                    switch try await client.next() {
                    case .server(.error(let error)):
                        #expect(error.code == .rateLimited, "\(id): \(error)")
                        #expect(error.ref == id)
                        limited += 1
                    case .server(.runQueued(let queued)):
                        #expect(queued.clientMessageID == id)
                    case let other:
                        Issue.record("\(id) was answered with \(other)")
                    }
                }
                #expect(limited > 0)
                #expect(try await queuedRuns(harness) == flood.count - limited)
                #expect(refusals(harness, .rate) == Double(limited))
                #expect(harness.metric(#"herald_gateway_errors_total{code="rate_limited"}"#) == Double(limited))

                // At 5 a second a token is back within 200 ms of the last refusal: the connection is served again.
                try await Task.sleep(for: .milliseconds(300))
                try await client.send(.ping)
                guard case .server(.pong) = try await client.next() else {
                    Issue.record("no pong once the rate allowed it")
                    return
                }
                #expect(await harness.gateway.connectionCount == 1)
                await client.close()
            }
        }
    }

    @Test("a user's connection over HERALD_MAX_CONNECTIONS_PER_USER is accepted, then closed with 4429")
    func connectionsPerUser() async throws {
        try await GatewayHarness.with(.tuned { $0.maxConnectionsPerUser = 2 }) { harness in
            try await within(60, "connections per user") {
                let first = try await harness.connect()
                let token = try #require(first.established.guestToken)
                let second = try await harness.connect(token: token)
                #expect(second.userID == first.userID)

                let third = try await Blocking.run { try RawWebSocket.upgraded(port: harness.port, query: "?token=\(token)") }
                defer { third.close() }
                // The close frame comes first: no connection_established, no identity for the extra socket.
                let frame = try #require(try await Blocking.run { try third.readFrame() })
                #expect(frame.close?.code == 4429)
                #expect(frame.close?.reason == "too many connections for this user")
                #expect(refusals(harness, .connectionsPerUser) == 1)

                // Other users are not affected.
                let stranger = try await harness.connect()
                #expect(stranger.userID != first.userID)
                await stranger.close()

                // A closed connection frees its place.
                await second.close()
                try await waitUntil("the second connection is gone") { await harness.gateway.connectionCount == 1 }
                let again = try await harness.connect(token: token)
                #expect(again.userID == first.userID)
                #expect(refusals(harness, .connectionsPerUser) == 1)
                await again.close()
                await first.close()
            }
        }
    }

    @Test("a user_message or resume that would watch more than HERALD_MAX_THREADS_PER_CONNECTION threads gets rate_limited")
    func threadsPerConnection() async throws {
        try await GatewayHarness.with(.tuned { $0.maxThreadsPerConnection = 2 }) { harness in
            try await within(60, "threads per connection") {
                let client = try await harness.connect()
                let token = try #require(client.established.guestToken)
                let a = try await client.startRun("first")
                _ = try await client.startRun("second")

                // A new thread would be the third.
                try await client.send(.userMessage(.init(content: "third", clientMessageID: "third")))
                let error = try await client.nextError()
                #expect(error.code == .rateLimited)
                #expect(error.ref == "third")
                #expect(error.message.contains("2 threads"))
                #expect(try await queuedRuns(harness) == 2)
                #expect(await harness.gateway.watchedThreadCount == 2)

                // So would resuming a thread of the same user that this connection does not watch.
                let tab = try await harness.connect(token: token)
                let other = try await tab.startRun("in another tab")
                try await client.send(.resume(.init(threadID: other.threadID, afterSeq: 0)))
                let resumeError = try await client.nextError()
                #expect(resumeError.code == .rateLimited)
                #expect(resumeError.ref == other.threadID)

                // A thread it already watches is not one more.
                try await client.send(.resume(.init(threadID: a.threadID, afterSeq: 0)))
                #expect(try await client.nextResumed().threadID == a.threadID)
                #expect(refusals(harness, .threadsPerConnection) == 2)
                await tab.close()
                await client.close()
            }
        }
    }

    @Test("a connection that does not complete its request within HERALD_UPGRADE_TIMEOUT_SECONDS is dropped")
    func upgradeTimeout() async throws {
        // Five seconds, not one: the whole suite runs in parallel in one process on two cores, and the in-time
        // request below must not race the timer on a starved event loop.
        try await GatewayHarness.with(.tuned { $0.upgradeTimeout = .seconds(5) }) { harness in
            // One sends half a request head and stops; one sends nothing at all.
            let halfOpen = try await Blocking.run { try RawWebSocket(port: harness.port) }
            defer { halfOpen.close() }
            let silent = try await Blocking.run { try RawWebSocket(port: harness.port) }
            defer { silent.close() }
            try await Blocking.run { try halfOpen.write(Array("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n".utf8)) }
            #expect(try await Blocking.run { try halfOpen.readsEndOfFile() })
            #expect(try await Blocking.run { try silent.readsEndOfFile() })
            #expect(refusals(harness, .upgradeTimeout) == 2)
            #expect(await harness.gateway.connectionCount == 0)

            // A request that completes in time is served.
            #expect(try await HTTPProbe.status(port: harness.port, path: "/healthz") == 200)
            #expect(refusals(harness, .upgradeTimeout) == 2)
        }
    }

    @Test("a WebSocket silent for HERALD_IDLE_TIMEOUT_SECONDS (no message, no pong) is closed with 1001")
    func idleTimeout() async throws {
        // Pings far apart, so the silence is found by the idle timeout and not by an unanswered ping.
        try await GatewayHarness.with(
            .tuned {
                $0.idleTimeout = .seconds(1)
                $0.pingInterval = .seconds(300)
            }
        ) { harness in
            let socket = try await Blocking.run { try RawWebSocket.upgraded(port: harness.port) }
            defer { socket.close() }
            let close = try await Blocking.run { () throws -> RawWebSocket.Frame? in
                while let frame = try socket.readFrame() {
                    if frame.opcode == 0x8 { return frame }
                }
                return nil
            }
            #expect(close?.close?.code == 1001)
            #expect(close?.close?.reason.contains("idle") == true)
            #expect(refusals(harness, .idleTimeout) == 1)
            try await waitUntil("the idle connection is gone") { await harness.gateway.connectionCount == 0 }
        }
    }

    @Test("a client that only answers pings, watching a running thread, is never idle")
    func pongsKeepAlive() async throws {
        // Pings every second and an idle timeout of four: the client lives only through its pongs. The margins
        // (three missed pings, twelve seconds to upgrade) keep the loaded full suite on two cores, whose CPU-bound
        // property tests can hold up a guest's upgrade for several seconds, from racing the timers.
        let settings: @Sendable (inout GatewaySettings) -> Void = {
            $0.pingInterval = .seconds(1)
            $0.idleTimeout = .seconds(4)
            $0.upgradeTimeout = .seconds(12)
        }
        try await GatewayHarness.with(.tuned(settings)) { harness in
            let socket = try await Blocking.run { try RawWebSocket.upgraded(port: harness.port) }
            defer { socket.close() }
            try await Blocking.run { try socket.sendText(#"{"type":"user_message","content":"hello","client_msg_id":"keep"}"#) }
            // Fourteen pings answered take at least fourteen seconds: over three idle timeouts, more than the upgrade
            // timeout, which must no longer apply once the connection is upgraded.
            let texts = try await Blocking.run { () throws -> [String] in
                var texts: [String] = []
                var pings = 0
                while pings < 14 {
                    guard let frame = try socket.readFrame() else { throw TestFailure("connection ended after \(pings) pings") }
                    switch frame.opcode {
                    case 0x9:
                        pings += 1
                        try socket.sendPong(frame.payload)
                    case 0x1:
                        texts.append(frame.text)
                    default:
                        throw TestFailure("unexpected frame \(frame.opcode): \(frame.text)")
                    }
                }
                return texts
            }
            #expect(texts.contains { $0.contains(#""type":"run_queued""#) && $0.contains(#""client_msg_id":"keep""#) })
            #expect(try await harness.redis.send("XLEN", harness.keys.runQueue).int == 1)
            #expect(refusals(harness, .idleTimeout) == 0)
            #expect(refusals(harness, .upgradeTimeout) == 0)
            #expect(await harness.gateway.connectionCount == 1)
            #expect(await harness.gateway.watchedThreadCount == 1)
        }
    }

    @Test("the gateway pings a quiet WebSocket: a client that never answers is closed as idle; one that answers stays, and no ping follows a close")
    func gatewayPings() async throws {
        // Pings every second, idle after three; a close not answered is waited for three seconds, time for pings that must not come.
        let settings: @Sendable (inout GatewaySettings) -> Void = {
            $0.pingInterval = .seconds(1)
            $0.idleTimeout = .seconds(3)
            $0.closeTimeout = .seconds(3)
        }
        try await GatewayHarness.with(.tuned(settings)) { harness in
            let silent = try await Blocking.run { try RawWebSocket.upgraded(port: harness.port) }
            defer { silent.close() }
            let answering = try await Blocking.run { try RawWebSocket.upgraded(port: harness.port) }
            defer { answering.close() }

            // Never answers anything: reads until the gateway drops the socket.
            async let silentFrames = Blocking.run { () throws -> [RawWebSocket.Frame] in
                var frames: [RawWebSocket.Frame] = []
                while let frame = try silent.readFrame() { frames.append(frame) }
                return frames
            }
            // Answers five pings (at least four seconds, longer than the idle timeout), then sends a binary frame,
            // which the gateway closes with 1003, and answers nothing more.
            async let answeringFrames = Blocking.run { () throws -> [RawWebSocket.Frame] in
                var frames: [RawWebSocket.Frame] = []
                var pings = 0
                while pings < 5 {
                    guard let frame = try answering.readFrame() else { throw TestFailure("connection ended after \(pings) pings") }
                    frames.append(frame)
                    if frame.opcode == 0x9 {
                        pings += 1
                        try answering.sendPong(frame.payload)
                    }
                }
                try answering.sendFrame(opcode: 0x2, payload: [1, 2, 3])
                while let frame = try answering.readFrame() { frames.append(frame) }
                return frames
            }

            let quiet = try await silentFrames
            // Pings are control frames and may come first on a loaded machine; the first message is the greeting.
            #expect(quiet.first { $0.opcode != 0x9 }?.text.contains(#""type":"connection_established""#) == true, "connection_established first")
            #expect(quiet.contains { $0.opcode == 0x9 }, "pinged before the idle timeout")
            #expect(quiet.filter { $0.opcode == 0x9 }.allSatisfy { $0.payload.isEmpty })
            #expect(quiet.last?.close?.code == 1001)
            #expect(quiet.last?.close?.reason.contains("idle") == true)
            #expect(quiet.filter { $0.opcode == 0x8 }.count == 1, "the close is the last frame")

            let alive = try await answeringFrames
            // Five answered; one more may go out before the binary frame lands, but none after the close.
            #expect(alive.filter { $0.opcode == 0x9 }.count >= 5)
            #expect(alive.last?.opcode == 0x8)
            #expect(alive.last?.close?.code == 1003, "closed for its binary frame, not as idle")
            #expect(alive.filter { $0.opcode == 0x8 }.count == 1, "nothing after the close, no ping either")

            #expect(refusals(harness, .idleTimeout) == 1)
            try await waitUntil("both connections are gone") { await harness.gateway.connectionCount == 0 }
        }
    }

    @Test("with HERALD_ALLOWED_ORIGINS set, a browser from another origin gets 403 before the upgrade; listed and absent origins get in")
    func originAllowList() async throws {
        let allowed = try OriginAllowList(parsing: "https://chat.example.com, http://localhost:8080")
        try await GatewayHarness.with(.tuned { $0.allowedOrigins = allowed }) { harness in
            let refused = try await HTTPProbe.get(
                port: harness.port,
                path: "/ws",
                headers: WebSocketHandshake.headers.merging(["Origin": "https://evil.example"]) { $1 }
            )
            #expect(refused.status == 403)
            let body = try JSONDecoder().decode([String: String].self, from: Data(refused.body.utf8))
            #expect(body == ["error": "forbidden", "message": "origin https://evil.example is not allowed to connect"])
            #expect(refused.head.lowercased().contains("content-type: application/json"))

            for origin in ["https://chat.example.com", "HTTPS://CHAT.EXAMPLE.COM:443", "http://localhost:8080", nil] {
                var headers = WebSocketHandshake.headers
                headers["Origin"] = origin
                let response = try await HTTPProbe.get(port: harness.port, path: "/ws", headers: headers, headOnly: true)
                #expect(response.status == 101, "\(origin ?? "no origin")")
            }
            #expect(refusals(harness, .origin) == 1)
            #expect(harness.metric("herald_gateway_upgrades_refused_total") == 1)
        }
        // The default lets every origin in.
        try await GatewayHarness.with { harness in
            let response = try await HTTPProbe.get(
                port: harness.port,
                path: "/ws",
                headers: WebSocketHandshake.headers.merging(["Origin": "https://evil.example"]) { $1 },
                headOnly: true
            )
            #expect(response.status == 101)
        }
    }
}
