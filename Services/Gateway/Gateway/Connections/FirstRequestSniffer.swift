import NIOCore
import NIOHTTP1

/// Notes the head of a connection's first request, passes it on, and leaves the pipeline: the pipeline then knows
/// what the request asks for when the HTTP upgrade handler decides it is not an upgrade (a standard stream is served
/// by NIO handlers, anything else by Hummingbird).
final class FirstRequestSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let head: NIOLoopBoundBox<HTTPRequestHead?>

    init(head: NIOLoopBoundBox<HTTPRequestHead?>) {
        self.head = head
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let request) = unwrapInboundIn(data) {
            head.value = request
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else {
            context.fireChannelRead(data)
        }
    }
}
