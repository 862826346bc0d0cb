import NIOCore
import NIOHTTP1

/// Writes a refused WebSocket upgrade as the refusal's status and JSON body.
///
/// Hummingbird answers an upgrade its `shouldUpgrade` declined with a bare `400` and closes the
/// connection. DESIGN.md wants `401` with `{"error":"unauthorized","message":…}` before the upgrade,
/// so `shouldUpgrade` puts this handler on the refused connection's pipeline, where it rewrites
/// that response on its way out.
final class UpgradeRefusalHandler: ChannelOutboundHandler, RemovableChannelHandler, Sendable {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let refusal: UpgradeRefusal

    init(refusal: UpgradeRefusal) {
        self.refusal = refusal
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            let body = context.channel.allocator.buffer(string: refusal.jsonBody)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            headers.add(name: "Connection", value: "close")
            let status = HTTPResponseStatus(statusCode: refusal.status.code, reasonPhrase: refusal.status.reasonPhrase)
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: promise)
        case .body:
            // The original response has no body of its own; ours was written with the head.
            promise?.succeed(())
        case .end:
            context.write(data, promise: promise)
        }
    }
}
