import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Prometheus
import Redis
import Testing

@testable import Gateway

/// `WebSocketConnectionHandler` in a pipeline with no socket (`NIOAsyncTestingChannel`): frames written in,
/// frames and closes read out. Nothing here reaches Redis: the client is never used, so never connects.
@Suite(.timeLimit(.minutes(1)))
struct WebSocketConnectionHandlerTests {
    /// Counts the reads that pass the handler towards the socket.
    private final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = Any
        // Read and written only on the channel's event loop.
        var reads = 0

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    private struct Fixture {
        let channel: NIOAsyncTestingChannel
        let gateway: Gateway
    }

    private static func gateway(maxFrameBytes: Int = 64) throws -> Gateway {
        let configuration = try RedisConfiguration(url: "redis://127.0.0.1:1")
        let settings = GatewaySettings(
            common: CommonSettings(redis: configuration, keys: RedisKeys(prefix: "unused")),
            maxFrameBytes: maxFrameBytes,
            closeTimeout: .seconds(5)
        )
        let logger = Logger.test("gateway-handler-tests")
        return Gateway(
            settings: settings,
            redis: RedisClient(configuration: configuration, logger: logger),
            subscriber: RedisSubscriber(configuration: configuration, logger: logger),
            registry: PrometheusCollectorRegistry(),
            logger: logger
        )
    }

    /// A connected channel with the handler added, past `connection_established`.
    private static func connected(maxFrameBytes: Int = 64) async throws -> Fixture {
        let gateway = try gateway(maxFrameBytes: maxFrameBytes)
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        let services = gateway.connections
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(
                WebSocketConnectionHandler(identity: ConnectionIdentity(userID: "usr_1"), channel: channel, services: services)
            )
        }
        let first = try await channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(first.opcode == .text)
        #expect(String(buffer: first.unmaskedData).contains(#""type":"connection_established""#))
        try await waitUntil("the connection is registered") { await gateway.connectionCount == 1 }
        return Fixture(channel: channel, gateway: gateway)
    }

    private static func frame(_ opcode: WebSocketOpcode, _ text: String = "", fin: Bool = true) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(string: text))
    }

    private static func close(_ code: UInt16) -> WebSocketFrame {
        var body = ByteBuffer()
        body.writeInteger(code)
        return WebSocketFrame(fin: true, opcode: .connectionClose, data: body)
    }

    /// The code and reason of a close frame.
    private static func closeBody(of frame: WebSocketFrame) -> (code: UInt16?, reason: String) {
        var data = frame.unmaskedData
        let code = data.readInteger(as: UInt16.self)
        return (code, String(buffer: data))
    }

    /// Answers the gateway's close as a browser does and waits for the socket to close and the connection to be let go.
    private static func answerCloseAndEnd(_ fixture: Fixture) async throws {
        try await fixture.channel.writeInbound(Self.close(1000))
        try await fixture.channel.closeFuture.get()
        try await waitUntil("the connection is let go") { await fixture.gateway.connectionCount == 0 }
    }

    @Test func aTextPingIsAnsweredAndAControlPingGetsItsPayloadBack() async throws {
        let fixture = try await Self.connected()
        try await fixture.channel.writeInbound(Self.frame(.text, #"{"type":"ping"}"#))
        let pong = try await fixture.channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(pong.opcode == .text)
        #expect(String(buffer: pong.unmaskedData) == #"{"type":"pong"}"#)
        try await fixture.channel.writeInbound(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(bytes: [7, 8, 9])))
        let control = try await fixture.channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(control.opcode == .pong)
        #expect(Array(control.unmaskedData.readableBytesView) == [7, 8, 9])
        try await fixture.channel.close()
    }

    @Test func theClientsCloseIsAnsweredWith1000AndTheConnectionLetGo() async throws {
        let fixture = try await Self.connected()
        try await fixture.channel.writeInbound(Self.close(1000))
        let reply = try await fixture.channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(reply.opcode == .connectionClose)
        #expect(Self.closeBody(of: reply).code == 1000)
        try await fixture.channel.closeFuture.get()
        try await waitUntil("the connection is let go") { await fixture.gateway.connectionCount == 0 }
        // Nothing follows the close.
        #expect(try await fixture.channel.readOutbound(as: WebSocketFrame.self) == nil)
    }

    @Test func binaryClosesWith1003() async throws {
        let fixture = try await Self.connected()
        try await fixture.channel.writeInbound(WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [1, 2, 3])))
        let close = try await fixture.channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(close.opcode == .connectionClose)
        #expect(Self.closeBody(of: close).code == HeraldCloseCode.unsupportedData)
        try await Self.answerCloseAndEnd(fixture)
    }

    @Test func aMessageInFragmentsOverTheLimitClosesWith1009() async throws {
        let fixture = try await Self.connected(maxFrameBytes: 16)
        try await fixture.channel.writeInbound(Self.frame(.text, String(repeating: "a", count: 10), fin: false))
        try await fixture.channel.writeInbound(Self.frame(.continuation, String(repeating: "a", count: 10)))
        let close = try await fixture.channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(close.opcode == .connectionClose)
        #expect(Self.closeBody(of: close) == (1009, "message longer than 16 bytes"))
        try await Self.answerCloseAndEnd(fixture)
    }

    @Test func aMessageBeforeAViolationIsAnsweredBeforeTheClose() async throws {
        let fixture = try await Self.connected()
        try await fixture.channel.writeInbound(Self.frame(.text, #"{"type":"ping"}"#))
        try await fixture.channel.writeInbound(Self.frame(.continuation, "x"))
        let pong = try await fixture.channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(String(buffer: pong.unmaskedData) == #"{"type":"pong"}"#)
        let close = try await fixture.channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(Self.closeBody(of: close) == (1002, "a continuation frame with no message to continue"))
        try await Self.answerCloseAndEnd(fixture)
    }

    @Test func theEndOfTheClientsInputClosesWith1000AndThenTheSocket() async throws {
        let fixture = try await Self.connected()
        try await fixture.channel.writeInbound(Self.frame(.text, #"{"type":"ping"}"#))
        fixture.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        let pong = try await fixture.channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(String(buffer: pong.unmaskedData) == #"{"type":"pong"}"#)
        let close = try await fixture.channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(Self.closeBody(of: close) == (1000, "the client closed its side of the connection"))
        // No answer can come: the socket closes once the close is out.
        try await fixture.channel.closeFuture.get()
        try await waitUntil("the connection is let go") { await fixture.gateway.connectionCount == 0 }
    }

    @Test func readingPausesWhileTheInboxIsFullAndResumesAsTheSessionTakesMessages() async throws {
        let gateway = try Self.gateway()
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        let counter = ReadCounter()
        try await channel.pipeline.addHandler(counter)
        let ping = Self.frame(.text, #"{"type":"ping"}"#)
        // In one turn of the loop, so the session is still starting while the messages arrive.
        let services = gateway.connections
        let readsWhileFull = try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandler(
                WebSocketConnectionHandler(identity: ConnectionIdentity(userID: "usr_1"), channel: channel, services: services)
            )
            for _ in 0..<WebSocketConnectionHandler.StateMachine.inboxLimit {
                channel.pipeline.fireChannelRead(ping)
            }
            channel.read()
            return counter.reads
        }
        #expect(readsWhileFull == 0)
        let established = try await channel.waitForOutboundWrite(as: WebSocketFrame.self)
        #expect(String(buffer: established.unmaskedData).contains("connection_established"))
        for _ in 0..<WebSocketConnectionHandler.StateMachine.inboxLimit {
            let pong = try await channel.waitForOutboundWrite(as: WebSocketFrame.self)
            #expect(String(buffer: pong.unmaskedData) == #"{"type":"pong"}"#)
        }
        // The held read went out with the first message taken, once only.
        #expect(try await channel.testingEventLoop.executeInContext { counter.reads } == 1)
        try await channel.close()
        try await waitUntil("the connection is let go") { await gateway.connectionCount == 0 }
    }
}
