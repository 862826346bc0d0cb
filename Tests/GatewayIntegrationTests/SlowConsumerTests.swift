import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

@testable import Gateway

@Suite("Slow consumers", .timeLimit(.minutes(2)))
struct SlowConsumerTests {
    @Test("a client that stops reading is closed as a slow consumer (4008) once its queue overflows")
    func overflowClosesConnection() async throws {
        try await GatewayHarness.with(.tuned { $0.outboundQueueBytes = 64 * 1024 }) { harness in
            let socket = try await Blocking.run { try StalledWebSocket(port: harness.port) }
            defer { socket.close() }
            // Watch a thread of our own naming, then never read again.
            try socket.sendText(#"{"type":"user_message","content":"hello","thread_id":"thr_slow"}"#)
            // A bound, not a pace: in a full parallel test run the gateway's tasks share two pool threads with every suite.
            try await waitUntil("the run is queued", timeout: .seconds(20)) {
                try await harness.redis.send("EXISTS", harness.keys.threadActiveRun("thr_slow")).int == 1
            }
            let chunk = String(repeating: "x", count: 32 * 1024)
            for _ in 0..<400 {
                try await harness.appendEvent(thread: "thr_slow", run: "run_slow", epoch: "ep_s", text: chunk)
                if harness.metric("herald_gateway_slow_consumer_disconnects_total") == 1 { break }
            }
            try await waitUntil("the slow consumer is dropped", timeout: .seconds(10)) {
                harness.metric("herald_gateway_slow_consumer_disconnects_total") == 1
            }
            try await waitUntil("its socket is gone", timeout: .seconds(10)) {
                await harness.gateway.connectionCount == 0
            }
            try await waitUntil("the thread is unsubscribed") { await harness.gateway.watchedThreadCount == 0 }
            #expect(harness.metric("herald_gateway_slow_consumer_disconnects_total") == 1)
            #expect(await harness.gateway.connectionCount == 0)
        }
    }
}

extension SlowConsumerTests {
    @Test("an SSE reader that stops reading is cut off like a slow WebSocket; another stream gets all its events")
    func stalledServerSentEventStreamIsCutOff() async throws {
        try await GatewayHarness.with(.tuned { $0.outboundQueueBytes = 64 * 1024 }) { harness in
            // A stream that sends its request, reads only the answer's head, then never reads again.
            let body = #"{"threadId":"thr_sse_slow","runId":"run_sse_slow","messages":[{"id":"m","role":"user","content":"hello"}]}"#
            let stalled = try await Blocking.run { () throws -> Int32 in
                let fd = try LoopbackSocket.connect(port: harness.port, receiveTimeoutSeconds: 20, receiveBufferBytes: 4096)
                _ = try LoopbackSocket.postJSON(fd, path: "/agui", body: body, expecting: 200)
                return fd
            }
            defer { _ = Glibc.close(stalled) }
            // A reader that keeps up, on a thread of its own.
            let reader = SSETestClient(port: harness.port)
            let readerBody = #"{"threadId":"thr_sse_fast","runId":"run_sse_fast","messages":[{"id":"m","role":"user","content":"hello"}]}"#
            let readerStream = Task { try await reader.send(.POST, "/agui", json: readerBody, until: { $0.contains("word 49") }) }
            try await waitUntil("both runs are queued", timeout: .seconds(20)) {
                let slow = try await harness.redis.send("EXISTS", harness.keys.threadActiveRun("thr_sse_slow")).int
                let fast = try await harness.redis.send("EXISTS", harness.keys.threadActiveRun("thr_sse_fast")).int
                return slow == 1 && fast == 1
            }
            let chunk = String(repeating: "x", count: 32 * 1024)
            for _ in 0..<400 {
                try await harness.appendEvent(thread: "thr_sse_slow", run: "run_sse_slow", epoch: "ep_s", text: chunk)
                if harness.metric("herald_gateway_slow_consumer_disconnects_total") == 1 { break }
            }
            try await waitUntil("the slow stream is cut off", timeout: .seconds(10)) {
                harness.metric("herald_gateway_slow_consumer_disconnects_total") == 1
            }
            // The other stream's connection stays.
            try await waitUntil("its connection is gone", timeout: .seconds(20)) {
                await harness.gateway.connectionCount == 1
            }
            for index in 0..<50 {
                try await harness.appendEvent(thread: "thr_sse_fast", run: "run_sse_fast", epoch: "ep_f", text: "word \(index)")
            }
            let answer = try await readerStream.value
            let texts = answer.events.compactMap { try? JSONValue.parse($0) }.filter { $0["type"]?.stringValue == "TEXT_MESSAGE_CONTENT" }
                .compactMap { $0["delta"]?.stringValue }
            #expect(texts == (0..<50).map { "word \($0)" })
            #expect(harness.metric("herald_gateway_slow_consumer_disconnects_total") == 1)
            await reader.shutdown()
        }
    }
}

/// A WebSocket client on a raw socket with a tiny receive buffer that sends and never reads.
final class StalledWebSocket: Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = try LoopbackSocket.connect(port: port, receiveTimeoutSeconds: 20, receiveBufferBytes: 4096)
        var request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in WebSocketHandshake.headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try write(Array(request.utf8))
        // Read only the upgrade response, so nothing after it is consumed.
        _ = try LoopbackSocket.responseHead(fd, expecting: 101)
    }

    /// Sends one masked text frame (clients must mask).
    func sendText(_ text: String) throws {
        let payload = Array(text.utf8)
        precondition(payload.count < 126, "short frames only")
        let mask: [UInt8] = (0..<4).map { _ in UInt8.random(in: 0...255) }
        var frame: [UInt8] = [0x81, 0x80 | UInt8(payload.count)] + mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try write(frame)
    }

    private func write(_ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == bytes.count else { throw TestFailure("send failed") }
    }

    func close() {
        _ = Glibc.close(fd)
    }
}
