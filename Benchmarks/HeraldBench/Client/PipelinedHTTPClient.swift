import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 connection that writes many `POST`s at once and waits for their responses in order (HTTP
/// pipelining), the way the bench pipelines Redis commands, so the publisher's own cost stays small beside the
/// system it feeds.
final class PipelinedHTTPClient: Sendable {
    private let channel: any Channel
    private let host: String

    private init(channel: any Channel, host: String) {
        self.channel = channel
        self.host = host
    }

    static func connect(host: String, port: Int) async throws -> PipelinedHTTPClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(PipelinedRequestHandler())
                }
            }
            .connect(host: host, port: port)
            .get()
        return PipelinedHTTPClient(channel: channel, host: host)
    }

    /// Sends every request at once; returns when all were answered with a 2xx status, or throws.
    func post(_ requests: [(path: String, body: ByteBuffer)]) async throws {
        guard !requests.isEmpty else { return }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(PipelinedRequests(host: host, requests: requests, answered: promise), promise: nil)
        try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }
}

/// A batch of requests and the promise fulfilled when the last of them is answered.
struct PipelinedRequests: Sendable {
    var host: String
    var requests: [(path: String, body: ByteBuffer)]
    var answered: EventLoopPromise<Void>
}

/// Turns a `PipelinedRequests` into request parts and matches responses to batches in order.
private final class PipelinedRequestHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = PipelinedRequests
    typealias OutboundOut = HTTPClientRequestPart

    /// Responses still due per batch, oldest first.
    private var pending = CircularBuffer<(remaining: Int, answered: EventLoopPromise<Void>)>()
    private var failure: (any Error)?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let batch = unwrapOutboundIn(data)
        if let failure {
            batch.answered.fail(failure)
            return
        }
        pending.append((batch.requests.count, batch.answered))
        for request in batch.requests {
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: request.path)
            head.headers.add(name: "Host", value: batch.host)
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(request.body.readableBytes))
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(request.body))), promise: nil)
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        }
        promise?.succeed()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head) where head.status.code >= 300:
            failAll(PathError("the publisher answered \(head.status.code) \(head.status.reasonPhrase)"))
            context.close(promise: nil)
        case .head, .body:
            break
        case .end:
            guard var first = pending.first else { return }
            first.remaining -= 1
            if first.remaining == 0 {
                pending.removeFirst()
                first.answered.succeed()
            } else {
                pending[pending.startIndex] = first
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(PathError("the publisher's connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        failure = failure ?? error
        while let batch = pending.popFirst() {
            batch.answered.fail(error)
        }
    }
}
