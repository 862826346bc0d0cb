import Foundation
import HTTPTypes
import HeraldCore
import HeraldProtocol
import Hummingbird
import NIOCore

/// What the standard SSE endpoints (AG-UI, the AI SDK) share: the caller's identity, a `Connection` for the stream
/// (counted, limited and drained like a WebSocket), the streamed response, and JSON errors before it starts.
struct StandardStreams: Sendable {
    /// A request refused before its stream starts: the status and the JSON body `{"error", "message", "ref"?}`.
    struct Refusal: Error, Sendable {
        var status: HTTPResponse.Status
        /// An error code of DESIGN.md section 3, or `unauthorized`.
        var code: String
        var message: String
        var ref: String?
        /// Headers the answer carries anyway (a new guest's token).
        var headers: HTTPFields = [:]

        init(status: HTTPResponse.Status, code: String, message: String, ref: String? = nil) {
            self.status = status
            self.code = code
            self.message = message
            self.ref = ref
        }

        init(status: HTTPResponse.Status, _ code: ErrorCode, _ message: String) {
            self.init(status: status, code: code.rawValue, message: message)
        }

        /// A refused run or watch, with the HTTP status that fits its code. Someone else's thread is not found, with
        /// nothing that tells it exists (no probing which threads there are).
        init(_ error: ProtocolError) {
            if error.code == .forbidden {
                self.init(status: .notFound, .notFound, "no such thread")
            } else {
                self.init(status: StandardStreams.status(of: error.code), code: error.code.rawValue, message: error.message, ref: error.ref)
            }
        }
    }

    /// Where a new guest's token goes, so the next request presents it (`Authorization: Bearer`).
    static let guestTokenHeader = HTTPField.Name("X-Herald-Guest-Token")!

    let authenticator: TokenAuthenticator
    let services: ConnectionServices

    /// The caller: `Authorization: Bearer <token>` (a JWT, or a guest token in guest mode); a new guest without one in
    /// guest mode.
    func identify(_ request: Request) async throws(Refusal) -> ConnectionIdentity {
        let token = request.headers[.authorization].flatMap(PresentedCredentials.bearerToken)
        do {
            return try await authenticator.authenticate(token: token.flatMap { $0.isEmpty ? nil : $0 })
        } catch {
            throw Refusal(status: error.status, code: error.error, message: error.message)
        }
    }

    /// The headers every answer to `identity` carries: a guest's (renewed) token.
    func identityHeaders(_ identity: ConnectionIdentity) -> HTTPFields {
        var headers = HTTPFields()
        if let token = identity.guestToken { headers[Self.guestTokenHeader] = token }
        return headers
    }

    /// Reads a JSON body of at most `limit` bytes.
    static func body(of request: Request, limit: Int) async throws(Refusal) -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Refusal(status: .contentTooLarge, .tooLarge, "the request body is larger than \(limit) bytes")
        } catch {
            throw Refusal(status: .badRequest, .badRequest, "the request body could not be read")
        }
    }

    /// A connection for one stream, registered with the gateway's others.
    func open(for identity: ConnectionIdentity, channel: any Channel) async throws(Refusal) -> (ConnectionSession, SSETransport) {
        let transport = SSETransport(channel: channel)
        let session = ConnectionSession(identity: identity, transport: transport, services: services, isWebSocket: false)
        switch await services.registry.add(session.connection) {
        case .added:
            return (session, transport)
        case .draining:
            throw Refusal(status: .serviceUnavailable, .internal, "gateway shutting down; try another")
        case .overUserLimit:
            services.metrics.recordRefusal(.connectionsPerUser)
            let limit = services.settings.maxConnectionsPerUser
            throw Refusal(status: .tooManyRequests, .rateLimited, "too many open streams and connections for this user (\(limit))")
        }
    }

    /// Lets go of a connection whose stream never started.
    func close(_ session: ConnectionSession) async {
        await session.end(registered: true)
    }

    /// The streamed answer: `text/event-stream` until the run ends (then `trailer`), the connection closes it or the
    /// client goes away; then the connection lets go of everything.
    func response<Encoder: StreamEventEncoder>(
        _ session: ConnectionSession, _ transport: SSETransport, encoder: Encoder, endpoint: String, headers extra: HTTPFields, trailer: String? = nil
    ) -> Response {
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        headers.append(contentsOf: extra)
        let metrics = services.metrics
        let heartbeat = services.settings.pingInterval
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                metrics.streamOpened(endpoint)
                var encoder = encoder
                let ending = await transport.stream(to: &writer, encoder: &encoder, heartbeat: heartbeat)
                if ending == .finished, let trailer {
                    var bytes = ByteBuffer()
                    bytes.writeString(trailer)
                    try? await writer.write(bytes)
                }
                await session.end(registered: true)
                metrics.streamClosed(endpoint)
                try await writer.finish(nil)
            })
    }

    /// The JSON error answer.
    static func errorResponse(_ refusal: Refusal) -> Response {
        var object: [String: JSONValue] = ["error": .string(refusal.code), "message": .string(refusal.message)]
        if let ref = refusal.ref { object["ref"] = .string(ref) }
        var headers = refusal.headers
        headers[.contentType] = "application/json"
        return Response(status: refusal.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: JSONValue.object(object).jsonString())))
    }

    /// The HTTP status of a refused run or watch.
    static func status(of code: ErrorCode) -> HTTPResponse.Status {
        switch code {
        case .badRequest, .unknownType: .badRequest
        // Someone else's thread is not found: no probing which threads exist.
        case .forbidden, .notFound: .notFound
        case .threadBusy: .conflict
        case .tooLarge: .contentTooLarge
        case .rateLimited: .tooManyRequests
        case .internal: .serviceUnavailable
        }
    }
}
