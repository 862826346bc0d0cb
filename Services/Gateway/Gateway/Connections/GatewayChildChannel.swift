import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Every accepted connection: HTTP/1.1 for the page, health and metrics, an upgrade of `/ws` to a
/// Herald WebSocket, or a standard stream (AG-UI, the AI SDK) as its first request.
///
/// An upgraded connection is served by NIO handlers on its event loop (`WebSocketConnectionHandler`),
/// not by a task per connection as HummingbirdWebSocket does: an idle socket then keeps no task stack
/// alive, which was most of its memory. A connection whose first request is a standard stream is served
/// the same way (`StandardStreamHandler`). The HTTP side is Hummingbird's, set up as its
/// `HTTP1WebSocketUpgradeChannel` does.
struct GatewayChildChannel: ServerChildChannel, HTTPChannelHandler {
    /// How the request on a new connection was answered.
    enum UpgradeResult: Sendable {
        /// Upgraded: the connection lives in its pipeline from now on.
        case webSocket
        /// A standard stream: served by its pipeline until the stream ends, then closed.
        case standardStream
        /// A plain HTTP request.
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade asked for and refused.
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    /// What `setup` hands to `handle`.
    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    private let httpIdleTimeout: Duration
    private let maxFrameBytes: Int
    private let gate: WebSocketGate
    private let services: ConnectionServices
    private let streams: StandardStreams

    init(
        responder: @escaping HTTPChannelHandler.Responder,
        httpIdleTimeout: Duration,
        gate: WebSocketGate,
        services: ConnectionServices,
        streams: StandardStreams
    ) {
        self.responder = Self.redirectingUpgrades(to: responder)
        self.httpIdleTimeout = httpIdleTimeout
        self.maxFrameBytes = services.settings.maxFrameBytes
        self.gate = gate
        self.services = services
        self.streams = streams
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // Both set while the request is answered, on this channel's event loop.
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let admitted = NIOLoopBoundBox<ConnectionIdentity?>(nil, eventLoop: channel.eventLoop)
            let firstHead = NIOLoopBoundBox<HTTPRequestHead?>(nil, eventLoop: channel.eventLoop)
            let streams = self.streams
            let gate = self.gate
            let services = self.services
            let httpIdleTimeout = self.httpIdleTimeout
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: maxFrameBytes,
                shouldUpgrade: { channel, head in
                    upgradeAttempted.value = true
                    let request: HTTPRequest
                    do {
                        request = try HTTPRequest(head, secure: false, splitCookie: false)
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                    return channel.eventLoop.makeFutureWithTask {
                        await gate.admit(request, channel: channel)
                    }.map { admission in
                        admitted.value = admission?.identity
                        return admission?.headers
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard let identity = admitted.value else { throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget }
                        let handler = WebSocketConnectionHandler(identity: identity, channel: channel, services: services)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return UpgradeResult.webSocket
                    }
                }
            )
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration<UpgradeResult>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        if !upgradeAttempted.value, let head = firstHead.value, let method = HTTPRequest.Method(rawValue: head.method.rawValue),
                            let route = StandardStreamRoute(method: method, target: head.uri)
                        {
                            try channel.pipeline.syncOperations.addHandler(StandardStreamHandler(route: route, streams: streams))
                            return .standardStream
                        }
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: httpIdleTimeout, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        return upgradeAttempted.value ? .failedUpgrade(asyncChannel) : .notUpgraded(asyncChannel)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: upgrade)
            configuration.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            configuration.enableErrorHandling = false  // Hummingbird handles these
            configuration.enableResponseHeaderValidation = false  // Swift HTTP Types validate already
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let upgradeHandler = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<UpgradeResult>.self)
            try channel.pipeline.syncOperations.addHandler(FirstRequestSniffer(head: firstHead), position: .before(upgradeHandler))
            return Value(upgradeResult: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .webSocket, .standardStream:
                // Served by its handlers; the server's task for this connection ends here.
                return
            case .notUpgraded(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .failedUpgrade(let http1):
                logger.debug("websocket upgrade failed")
                await Self.writeFailedUpgrade(http1, logger: logger)
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("upgrade failed as input was closed")
        } catch {
            logger.error("error handling upgrade result", metadata: ["error.type": "\(error)"])
        }
    }

    /// A refused upgrade gets `400` and the connection closes; `UpgradeRefusalHandler`, if the gate
    /// added one, turns it into the refusal's status and JSON body on its way out.
    private static func writeFailedUpgrade(_ asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        do {
            try await asyncChannel.executeThenClose { _, outbound in
                let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                try await outbound.write(contentsOf: [.head(head), .end(nil)])
            }
        } catch {
            logger.trace("cannot write the refused upgrade's response", metadata: ["error": "\(error)"])
        }
    }

    /// NIO only upgrades the first request of a connection; a later one asking for a WebSocket is sent
    /// back to the same URL with the connection closed, so the client retries on a new one.
    private static func redirectingUpgrades(to responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct RedirectCloseError: Error {}
        return { request, responseWriter, channel in
            if request.headers[.upgrade] == "websocket" {
                var path = request.uri.path
                if let query = request.uri.query {
                    path += "?\(query)"
                }
                let response = HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: path])
                try await responseWriter.writeResponse(response)
                throw RedirectCloseError()
            } else {
                try await responder(request, responseWriter, channel)
            }
        }
    }
}
