import Foundation
import HeraldTesting
import Testing

@testable import Gateway

@Suite("Slow consumers", .timeLimit(.minutes(2)))
struct SlowConsumerTests {
    @Test("a client that stops reading is closed as a slow consumer (4008) once its queue overflows")
    func overflowClosesConnection() async throws {
        try await GatewayHarness.with({ $0.outboundQueueBytes = 64 * 1024 }) { harness in
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

/// A WebSocket client on a raw socket with a tiny receive buffer that sends and never reads.
final class StalledWebSocket: Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = try LoopbackSocket.connect(port: port, receiveTimeoutSeconds: 20, receiveBufferBytes: 4096)
        var request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in WebSocketHandshake.headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try write(Array(request.utf8))
        // Read only the upgrade response, byte by byte so nothing after it is consumed.
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard recv(fd, &byte, 1, 0) == 1 else { throw TestFailure("no upgrade response") }
            head.append(byte)
        }
        guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
            throw TestFailure("upgrade refused: \(String(decoding: head, as: UTF8.self))")
        }
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
