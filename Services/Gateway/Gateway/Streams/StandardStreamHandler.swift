import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Serves a connection whose first request is a standard stream (AG-UI, the AI SDK) on its event loop, as
/// `WebSocketConnectionHandler` serves `/ws`: reads the request, has `StandardStreams` answer it (a short task),
/// then encodes and writes the run's frames as the connection hands them over.
///
/// An open stream is this handler, its `Connection` and NIO's own objects; no task waits on it (a stream served by
/// Hummingbird's router keeps its connection's task and the response's body task, several times the memory). The
/// answer says `Connection: close` and the socket closes when the stream ends, so the connection's HTTP never
/// becomes Hummingbird's.
final class StandardStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    /// Who the request comes from, for the per-client limits (`ClientAddress`).
    private var clientAddress = "unknown"

    private enum State {
        /// Waiting for the request's head.
        case awaitingHead
        /// Reading the request; `body` is nil once it went over `HERALD_MAX_REQUEST_BYTES`.
        case reading(authorization: String?, body: ByteBuffer?)
        /// The answer is being worked out; batches the connection already hands over wait for the stream's head.
        case answering(waiting: [Delivery])
        /// The stream's head went out: batches are encoded and written as they come.
        case streaming(encoder: any StreamEventEncoder, trailer: String?)
        /// The answer ended, or the socket closed.
        case ended
    }

    /// A batch and the promise the connection waits on until the socket took it.
    private struct Delivery {
        var batch: [Connection.Outgoing]
        var promise: EventLoopPromise<Void>
    }

    private let route: StandardStreamRoute
    private let streams: StandardStreams
    private var state = State.awaitingHead
    /// Set while the handler is in the pipeline.
    private var context: ChannelHandlerContext?
    /// The stream's connection, from the answer until the socket closes (which lets go of it, breaking the cycle
    /// through its transport).
    private var session: ConnectionSession?
    /// The stream was counted open in the metrics.
    private var counted = false
    private var heartbeat: RepeatedTask?

    init(route: StandardStreamRoute, streams: StandardStreams) {
        self.route = route
        self.streams = streams
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        let previous = state
        state = .ended
        if case .answering(let waiting) = previous {
            for delivery in waiting { delivery.promise.fail(ChannelError.ioOnClosedChannel) }
        }
        heartbeat?.cancel()
        heartbeat = nil
        if let session {
            self.session = nil
            Task { await session.end(registered: true) }
        }
        if counted {
            counted = false
            streams.services.metrics.streamClosed(route.endpoint)
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A client that shuts its side down before the request is complete cannot finish it.
        if case ChannelEvent.inputClosed = event, case .reading = state {
            state = .ended
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: The request

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let request), .awaitingHead):
            state = .reading(authorization: request.headerFields[.authorization], body: ByteBuffer())
            clientAddress = ClientAddress.key(
                peer: context.channel.remoteAddress,
                forwardedFor: request.headerFields[values: .xForwardedFor],
                trustedProxies: streams.services.settings.trustedProxies
            )
        case (.body(var part), .reading(let authorization, var body?)):
            // The body only grows up to the limit; past it the rest is read and dropped, and the answer is 413.
            state = .awaitingHead
            let limit = streams.services.settings.maxRequestBytes
            if body.readableBytes + part.readableBytes <= limit {
                body.writeBuffer(&part)
                state = .reading(authorization: authorization, body: body)
            } else {
                state = .reading(authorization: authorization, body: nil)
            }
        case (.end, .reading(let authorization, let body)):
            answer(authorization: authorization, body: body, context: context)
        default:
            // A request pipelined after the stream's is not served: the connection closes when the stream ends.
            break
        }
    }

    private func answer(authorization: String?, body: ByteBuffer?, context: ChannelHandlerContext) {
        state = .answering(waiting: [])
        let transport = SSEChannelTransport(handler: NIOLoopBound(self, eventLoop: context.eventLoop), channel: context.channel)
        let clientAddress = self.clientAddress
        let route = self.route
        let streams = self.streams
        let limit = streams.services.settings.maxRequestBytes
        context.eventLoop.makeFutureWithTask {
            await streams.answer(
                route,
                authorization: authorization,
                clientAddress: clientAddress,
                body: { () throws(StandardStreams.Refusal) in
                    guard let body else { throw StandardStreams.Refusal.tooLarge(limit) }
                    return body
                },
                transport: transport
            )
        }.assumeIsolated().whenSuccess { [self] answer in
            answered(answer)
        }
    }

    private func answered(_ answer: StandardStreams.Answer) {
        guard let context, case .answering(let waiting) = state else {
            // The socket closed while the answer was worked out: its stream has no one to go to.
            if case .stream(let stream) = answer { Task { await stream.session.end(registered: true) } }
            return
        }
        switch answer {
        case .refused(let refusal):
            var headers = refusal.headers
            headers[.contentType] = "application/json"
            let body = StandardStreams.errorBody(refusal)
            headers[.contentLength] = "\(body.readableBytes)"
            respondAndClose(HTTPResponse(status: refusal.status, headerFields: headers), body: body, context: context)
        case .noActiveRun(var headers):
            headers[.contentLength] = "0"
            respondAndClose(HTTPResponse(status: .noContent, headerFields: headers), body: nil, context: context)
        case .stream(let stream):
            session = stream.session
            var headers = stream.headers
            headers[.connection] = "close"
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: headers))), promise: nil)
            counted = true
            streams.services.metrics.streamOpened(route.endpoint)
            state = .streaming(encoder: stream.encoder, trailer: stream.trailer)
            startHeartbeat(context: context)
            for delivery in waiting {
                deliver(delivery.batch, promise: delivery.promise)
            }
        }
    }

    private func respondAndClose(_ head: HTTPResponse, body: ByteBuffer?, context: ChannelHandlerContext) {
        state = .ended
        var head = head
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    // MARK: The stream

    /// A batch from the connection, on this loop.
    fileprivate func deliver(_ batch: [Connection.Outgoing], promise: EventLoopPromise<Void>) {
        switch state {
        case .answering(var waiting):
            state = .ended
            waiting.append(Delivery(batch: batch, promise: promise))
            state = .answering(waiting: waiting)
        case .streaming(var encoder, let trailer):
            guard let context else { return promise.fail(ChannelError.ioOnClosedChannel) }
            var bytes = context.channel.allocator.buffer(capacity: 0)
            let end = encoder.encode(batch, into: &bytes)
            state = .streaming(encoder: encoder, trailer: trailer)
            if bytes.readableBytes > 0 {
                context.writeAndFlush(wrapOutboundOut(.body(bytes)), promise: promise)
            } else {
                promise.succeed()
            }
            switch end {
            case .open: break
            case .finished: finish(trailer: trailer, context: context)
            case .closed: finish(trailer: nil, context: context)
            }
        case .awaitingHead, .reading, .ended:
            promise.fail(ChannelError.ioOnClosedChannel)
        }
    }

    /// Ends the response (after `trailer`) and closes the socket once it is out.
    private func finish(trailer: String?, context: ChannelHandlerContext) {
        state = .ended
        heartbeat?.cancel()
        heartbeat = nil
        if let trailer { context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(string: trailer))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// A comment line every `HERALD_PING_INTERVAL_SECONDS` keeps proxies from timing out a quiet stream and notices
    /// a client that left; a timer on this loop, not a task.
    private func startHeartbeat(context: ChannelHandlerContext) {
        let interval = TimeAmount(streams.services.settings.pingInterval)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        heartbeat = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            handler.value.beat()
        }
    }

    private func beat() {
        guard case .streaming = state, let context else { return }
        context.writeAndFlush(wrapOutboundOut(.body(ByteBuffer(staticString: ": keep-alive\n\n"))), promise: nil)
    }
}

/// The socket of a `StandardStreamHandler` as a `Connection`'s transport: each batch goes to the handler on its loop.
struct SSEChannelTransport: ConnectionTransport {
    fileprivate let handler: NIOLoopBound<StandardStreamHandler>
    let channel: any Channel

    var eventLoop: any EventLoop { channel.eventLoop }

    func write(_ batch: [Connection.Outgoing]) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        if channel.eventLoop.inEventLoop {
            handler.value.deliver(batch, promise: promise)
        } else {
            channel.eventLoop.execute { handler.value.deliver(batch, promise: promise) }
        }
        return promise.futureResult
    }

    func abort() {
        channel.close(promise: nil)
    }
}
