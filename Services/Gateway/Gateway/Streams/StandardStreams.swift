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

    // MARK: Runs

    /// What a standard's request asks for, in Herald's terms.
    struct RunRequest: Sendable {
        /// The Herald thread.
        var threadID: String
        /// The Herald run id the client chose; nil lets Herald choose.
        var runID: String?
        /// The user's message.
        var message: String
        /// The message's id, when the client gave one (the run's `client_msg_id`).
        var messageID: String?
        /// The ids as the client wrote them, echoed in its stream.
        var clientThreadID: String
        var clientRunID: String?
        /// Tools the client runs itself, and the results of those the last run handed over (AG-UI).
        var clientTools: [ClientTool] = []
        var toolResults: [ClientToolResult] = []
    }

    /// Answers a request to start a run (or pick up the active one it names): who is asking, its body of at most
    /// `HERALD_MAX_REQUEST_BYTES` read by `parse`, the run queued, then the stream `encoder` makes of the run; any
    /// refusal before the stream as JSON.
    func run<Encoder: StreamEventEncoder>(
        _ request: Request, channel: any Channel, endpoint: String, trailer: String? = nil,
        parse: (ByteBuffer) throws(Refusal) -> RunRequest, encoder: (RunRequest, _ runID: String) -> Encoder
    ) async -> Response {
        var headers = HTTPFields()
        do throws(Refusal) {
            let identity = try await identify(request)
            headers = identityHeaders(identity)
            let wanted = try parse(try await Self.body(of: request, limit: services.settings.maxRequestBytes))
            let (session, transport) = try await open(for: identity, channel: channel)
            let runID: String
            do {
                runID = try await start(wanted, in: session)
            } catch {
                await close(session)
                throw error
            }
            return response(session, transport, encoder: encoder(wanted, runID), endpoint: endpoint, headers: headers, trailer: trailer)
        } catch {
            var refusal = error
            refusal.headers.append(contentsOf: headers)
            return Self.errorResponse(refusal)
        }
    }

    /// Queues the run for a stream; a request naming the thread's active run (a client retrying) watches that run
    /// from its start instead. Returns the Herald id of the run the stream shows.
    private func start(_ wanted: RunRequest, in session: ConnectionSession) async throws(Refusal) -> String {
        let threadID = wanted.threadID
        let active: RunStore.ActiveRun?
        do {
            active = try await services.runs.activeRun(ofThread: threadID)
        } catch {
            throw Refusal(status: .serviceUnavailable, .internal, "cannot reach the thread now; try again")
        }
        if let active, active.runID == wanted.runID {
            if let refusal = await session.watch(threadID, afterSeq: active.afterSeq, epoch: active.epoch, awaitingCatchUp: false) {
                throw Refusal(refusal)
            }
            return active.runID
        }
        let messageID = wanted.messageID.flatMap { StandardIDs.isAcceptable($0) ? $0 : nil }
        let outcome = await session.startRun(
            content: wanted.message, threadID: threadID, runID: wanted.runID, clientMessageID: messageID,
            clientTools: wanted.clientTools, toolResults: wanted.toolResults)
        switch outcome {
        case .queued(let queued):
            return queued.runID
        case .refused(let error):
            throw Refusal(error)
        }
    }

    /// Answers a request to pick up a thread's active run: 204 when it has none, else the run's stream from its start
    /// (history, then live), made with the encoder `encoder` gives for the active run's id.
    func reattach<Encoder: StreamEventEncoder>(
        _ request: Request, channel: any Channel, threadID: String, endpoint: String, encoder: (String) -> Encoder, trailer: String? = nil
    ) async -> Response {
        var headers = HTTPFields()
        do throws(Refusal) {
            let identity = try await identify(request)
            headers = identityHeaders(identity)
            let active: RunStore.ActiveRun?
            do {
                // Someone else's thread is not found either: no probing.
                guard try await services.runs.owner(ofThread: threadID) == identity.userID else {
                    throw Refusal(status: .notFound, .notFound, "no such thread")
                }
                active = try await services.runs.activeRun(ofThread: threadID)
            } catch let refusal as Refusal {
                throw refusal
            } catch {
                throw Refusal(status: .serviceUnavailable, .internal, "cannot reach the thread now; try again")
            }
            guard let active else { return Response(status: .noContent, headers: headers) }
            let (session, transport) = try await open(for: identity, channel: channel)
            if let refusal = await session.watch(threadID, afterSeq: active.afterSeq, epoch: active.epoch, awaitingCatchUp: false) {
                await close(session)
                throw Refusal(refusal)
            }
            return response(session, transport, encoder: encoder(active.runID), endpoint: endpoint, headers: headers, trailer: trailer)
        } catch {
            var refusal = error
            refusal.headers.append(contentsOf: headers)
            return Self.errorResponse(refusal)
        }
    }
}
