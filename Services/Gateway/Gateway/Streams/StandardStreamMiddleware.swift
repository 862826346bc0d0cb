import HTTPTypes
import Hummingbird
import NIOCore

/// Serves a standard stream request (`StandardStreamRoute`) that reaches Hummingbird's router: one that follows
/// other requests on a kept-alive connection. Everything but the writing is `StandardStreams.answer`, as for a
/// connection's first request.
struct StandardStreamMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let streams: StandardStreams

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let route = StandardStreamRoute(method: request.method, target: request.head.path ?? "") else {
            return try await next(request, context)
        }
        let transport = SSEResponseTransport(channel: context.channel)
        let limit = streams.services.settings.maxRequestBytes
        let answer = await streams.answer(
            route,
            authorization: request.headers[.authorization],
            clientAddress: ClientAddress.key(
                peer: context.channel.remoteAddress,
                forwardedFor: request.headers[values: .xForwardedFor],
                trustedProxies: streams.services.settings.trustedProxies
            ),
            body: { () async throws(StandardStreams.Refusal) in
                do {
                    return try await request.body.collect(upTo: limit)
                } catch is NIOTooManyBytesError {
                    throw StandardStreams.Refusal.tooLarge(limit)
                } catch {
                    throw StandardStreams.Refusal(status: .badRequest, .badRequest, "the request body could not be read")
                }
            },
            transport: transport
        )
        switch answer {
        case .refused(let refusal):
            var headers = refusal.headers
            headers[.contentType] = "application/json"
            return Response(status: refusal.status, headers: headers, body: ResponseBody(byteBuffer: StandardStreams.errorBody(refusal)))
        case .noActiveRun(let headers):
            return Response(status: .noContent, headers: headers)
        case .stream(let stream):
            let metrics = streams.services.metrics
            let heartbeat = streams.services.settings.pingInterval
            return Response(
                status: .ok,
                headers: stream.headers,
                body: ResponseBody { writer in
                    metrics.streamOpened(route.endpoint)
                    await transport.stream(to: &writer, encoder: stream.encoder, trailer: stream.trailer, heartbeat: heartbeat)
                    await stream.session.end(registered: true)
                    metrics.streamClosed(route.endpoint)
                    try await writer.finish(nil)
                }
            )
        }
    }
}
