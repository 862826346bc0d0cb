import Foundation
import HeraldTesting
import Testing

@testable import Gateway

/// The WebSocket protocol as the gateway's own handler speaks it (RFC 6455): fragments, control frames,
/// the close handshake from either side, and what a client that breaks the protocol gets.
@Suite("WebSocket protocol", .timeLimit(.minutes(2)))
struct WebSocketProtocolTests {
    /// A raw client past `connection_established`.
    private func connected(_ harness: GatewayHarness) async throws -> RawWebSocket {
        let socket = try await Blocking.run { try RawWebSocket.upgraded(port: harness.port) }
        let first = try await Blocking.run { try socket.readFrame() }
        #expect(first?.text.contains(#""type":"connection_established""#) == true)
        return socket
    }

    /// Frames until the gateway closes the socket, its close frame answered as a browser would (so the
    /// gateway need not wait out its close timeout); the last should be that close frame.
    private func rest(of socket: RawWebSocket) async throws -> [RawWebSocket.Frame] {
        try await Blocking.run {
            var frames: [RawWebSocket.Frame] = []
            while let frame = try socket.readFrame() {
                frames.append(frame)
                if let close = frame.close {
                    try socket.sendFrame(opcode: 0x8, payload: [UInt8(close.code >> 8), UInt8(close.code & 0xFF)])
                    break
                }
            }
            return frames + (try socket.framesUntilEnd())
        }
    }

    @Test("a message in fragments is joined, and a ping between them is answered with its payload")
    func fragments() async throws {
        try await GatewayHarness.with { harness in
            let socket = try await connected(harness)
            defer { socket.close() }
            let message = Array(#"{"type":"ping"}"#.utf8)
            let frames = try await Blocking.run { () throws -> [RawWebSocket.Frame] in
                try socket.sendFrame(opcode: 0x1, payload: Array(message[..<5]), fin: false)
                try socket.sendFrame(opcode: 0x9, payload: [7, 8, 9])
                try socket.sendFrame(opcode: 0x0, payload: Array(message[5..<9]), fin: false)
                try socket.sendFrame(opcode: 0x0, payload: Array(message[9...]))
                return [try socket.readFrame(), try socket.readFrame()].compactMap { $0 }
            }
            #expect(frames.first?.opcode == 0xA)
            #expect(frames.first?.payload == [7, 8, 9])
            #expect(frames.last?.text == #"{"type":"pong"}"#)
        }
    }

    @Test("a client's close is answered with 1000 and the socket closes; the connection is let go")
    func clientCloses() async throws {
        try await GatewayHarness.with { harness in
            let socket = try await connected(harness)
            defer { socket.close() }
            try await waitUntil("the connection is registered") { await harness.gateway.connectionCount == 1 }
            try await Blocking.run { try socket.sendFrame(opcode: 0x8, payload: [0x03, 0xE8] + Array("bye".utf8)) }
            let frames = try await Blocking.run { try socket.framesUntilEnd() }
            #expect(frames.map(\.opcode) == [0x8])
            #expect(frames.last?.close?.code == 1000)
            try await waitUntil("the connection is gone") { await harness.gateway.connectionCount == 0 }
        }
    }

    @Test("a close with a code no endpoint may send is answered with 1002")
    func invalidCloseCode() async throws {
        try await GatewayHarness.with { harness in
            let socket = try await connected(harness)
            defer { socket.close() }
            // 1005 means "no code" and must never be sent.
            try await Blocking.run { try socket.sendFrame(opcode: 0x8, payload: [0x03, 0xED]) }
            #expect(try await Blocking.run { try socket.framesUntilEnd() }.last?.close?.code == 1002)
        }
    }

    @Test("a client that half-closes its socket gets answers to what it sent before, then a close frame, and the connection ends")
    func halfClose() async throws {
        try await GatewayHarness.with { harness in
            let socket = try await connected(harness)
            defer { socket.close() }
            try await waitUntil("the connection is registered") { await harness.gateway.connectionCount == 1 }
            try await Blocking.run { try socket.sendText(#"{"type":"ping"}"#) }
            socket.shutdownWrite()
            let frames = try await Blocking.run { try socket.framesUntilEnd() }
            #expect(frames.map(\.opcode) == [0x1, 0x8])
            #expect(frames.first?.text == #"{"type":"pong"}"#)
            #expect(frames.last?.close?.code == 1000)
            try await waitUntil("the connection is gone") { await harness.gateway.connectionCount == 0 }
        }
    }

    @Test(
        "protocol violations close with their code and a reason: bad UTF-8 1007, a stray continuation 1002, reserved bits 1002, a reserved opcode 1002"
    )
    func violations() async throws {
        try await GatewayHarness.with { harness in
            let cases: [(String, UInt8, [UInt8], Int)] = [
                ("invalid UTF-8", 0x1, [0x7B, 0xC3, 0x28, 0x7D], 1007),
                ("continuation with nothing to continue", 0x0, Array("{}".utf8), 1002),
                ("RSV1 without an extension", 0x40 | 0x1, Array("{}".utf8), 1002),
                ("reserved opcode 3", 0x3, [], 1002),
            ]
            for (what, opcode, payload, code) in cases {
                let socket = try await connected(harness)
                defer { socket.close() }
                try await Blocking.run { try socket.sendFrame(opcode: opcode, payload: payload) }
                let close = try await rest(of: socket).last
                #expect(close?.close?.code == code, "\(what)")
                #expect(close?.close?.reason.isEmpty == false, "\(what): the close says why")
            }
        }
    }

    @Test("a message whose fragments add up to more than HERALD_MAX_FRAME_BYTES closes with 1009")
    func oversizedMessage() async throws {
        try await GatewayHarness.with(.tuned { $0.maxFrameBytes = 1024 }) { harness in
            let socket = try await connected(harness)
            defer { socket.close() }
            try await Blocking.run {
                // Each frame is within the limit; together they are not.
                try socket.sendFrame(opcode: 0x1, payload: [UInt8](repeating: 0x20, count: 800), fin: false)
                try socket.sendFrame(opcode: 0x0, payload: [UInt8](repeating: 0x20, count: 800))
            }
            #expect(try await rest(of: socket).last?.close?.code == 1009)
        }
    }
}
