import NIOCore
import NIOPosix

/// A loopback TCP server that plays a broken Redis: it answers the first bytes a client sends with `reply`,
/// written in the given pieces (each flushed on its own), then closes the socket when `closeAfterReply` is set.
final class ScriptedRedisServer: Sendable {
    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func withServer<T>(reply: [[UInt8]], closeAfterReply: Bool, _ body: (ScriptedRedisServer) async throws -> T) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ScriptedReplyHandler(reply: reply, closeAfterReply: closeAfterReply))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let server = ScriptedRedisServer(port: channel.localAddress?.port ?? 0, channel: channel)
        do {
            let result = try await body(server)
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    var url: String { "redis://127.0.0.1:\(port)" }
}

private final class ScriptedReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let reply: [[UInt8]]
    private let closeAfterReply: Bool
    private var answered = false

    init(reply: [[UInt8]], closeAfterReply: Bool) {
        self.reply = reply
        self.closeAfterReply = closeAfterReply
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        for piece in reply {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: piece)), promise: nil)
        }
        if closeAfterReply {
            context.close(promise: nil)
        }
    }
}
