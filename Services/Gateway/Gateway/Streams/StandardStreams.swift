import Foundation
import HTTPTypes
import HeraldCore
import HeraldProtocol
import NIOCore

/// What the standard SSE endpoints (AG-UI, the AI SDK) answer, whichever path writes it (`StandardStreamHandler` for
/// a connection's first request, `StandardStreamMiddleware` after others): the caller's identity, a `Connection` for
/// the stream (counted, limited and drained like a WebSocket), and JSON errors before it starts.
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

        /// A body over `HERALD_MAX_REQUEST_BYTES`.
        static func tooLarge(_ limit: Int) -> Refusal {
            Refusal(status: .contentTooLarge, .tooLarge, "the request body is larger than \(limit) bytes")
        }
    }

    /// Where a new guest's token goes, so the next request presents it (`Authorization: Bearer`).
    static let guestTokenHeader = HTTPField.Name("X-Herald-Guest-Token")!

    let authenticator: TokenAuthenticator
    let services: ConnectionServices

    /// What a request to a standard endpoint gets, whichever path serves it.
    enum Answer: Sendable {
        /// Refused before any stream: a JSON error.
        case refused(Refusal)
        /// A pick-up request for a thread without an active run: 204.
        case noActiveRun(HTTPFields)
        /// The stream starts: the session is registered and watches the run's thread.
        case stream(Stream)
    }

    /// A stream about to start: its connection, the encoder that turns the run's frames into the standard's events,
    /// the response's headers and what ends a finished stream.
    struct Stream: Sendable {
        let session: ConnectionSession
        let encoder: any StreamEventEncoder
        let headers: HTTPFields
        let trailer: String?
    }

    /// Answers `route`: who is asking (`authorization`, the request's `Authorization` header), its body when the
    /// route reads one (`body` reads at most `HERALD_MAX_REQUEST_BYTES`), then the run queued or the active run
    /// found, watched by a connection whose frames go to `transport`.
    func answer(
        _ route: StandardStreamRoute,
        authorization: String?,
        clientAddress: String,
        body: () async throws(Refusal) -> ByteBuffer,
        transport: any ConnectionTransport
    ) async -> Answer {
        var headers = HTTPFields()
        do throws(Refusal) {
            let identity = try await identify(authorization, clientAddress: clientAddress)
            headers = identityHeaders(identity)
            let started: (ConnectionSession, any StreamEventEncoder)?
            switch route {
            case .aguiRun:
                let input = try AGUIStream.input(try await body())
                if !input.resume.isEmpty {
                    started = try await resume(input, identity: identity, transport: transport)
                    break
                }
                let wanted = AGUIStream.runRequest(input)
                started = try await run(wanted, identity: identity, transport: transport) { runID in
                    AGUIEventEncoder(clientThreadID: input.threadID, clientRunID: input.runID, runID: runID)
                }
            case .aguiReattach(let clientThreadID, let clientRunID):
                let threadID = try AGUIStream.threadID(clientThreadID)
                let acceptableRunID = clientRunID.flatMap { StandardIDs.isAcceptable($0) ? $0 : nil }
                started = try await reattach(threadID, identity: identity, transport: transport) { runID in
                    // The client's run id, when it says which it started; else the run's Herald id.
                    AGUIEventEncoder(clientThreadID: clientThreadID, clientRunID: acceptableRunID ?? runID, runID: runID)
                }
            case .chatRun:
                let wanted = try AISDKStream.runRequest(try await body())
                started = try await run(wanted, identity: identity, transport: transport) { UIMessageStreamEncoder(runID: $0) }
            case .chatResume(let chatID):
                let threadID = try AISDKStream.threadID(chatID)
                started = try await reattach(threadID, identity: identity, transport: transport) { UIMessageStreamEncoder(runID: $0) }
            }
            guard let (session, encoder) = started else { return .noActiveRun(headers) }
            var streamHeaders = Self.streamHeaders(route)
            streamHeaders.append(contentsOf: headers)
            return .stream(Stream(session: session, encoder: encoder, headers: streamHeaders, trailer: Self.trailer(route)))
        } catch {
            var refusal = error
            refusal.headers.append(contentsOf: headers)
            return .refused(refusal)
        }
    }

    /// The headers of a stream's response.
    static func streamHeaders(_ route: StandardStreamRoute) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        // Proxies that buffer responses (nginx) pass this one on as it is written.
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        if route.standard == .aiSDK { headers[AISDKStream.streamHeader] = "v1" }
        return headers
    }

    /// What ends a finished stream: the AI SDK's `[DONE]`.
    static func trailer(_ route: StandardStreamRoute) -> String? {
        route.standard == .aiSDK ? AISDKStream.done : nil
    }

    /// The caller: `Authorization: Bearer <token>` (a JWT, or a guest token in guest mode); a new guest without one in
    /// guest mode.
    private func identify(_ authorization: String?, clientAddress: String) async throws(Refusal) -> ConnectionIdentity {
        let token = authorization.flatMap(PresentedCredentials.bearerToken)
        do {
            return try await authenticator.authenticate(token: token.flatMap { $0.isEmpty ? nil : $0 }, clientAddress: clientAddress)
        } catch {
            if error.status == .tooManyRequests { services.metrics.recordRefusal(.newGuests) }
            throw Refusal(status: error.status, code: error.error, message: error.message)
        }
    }

    /// The headers every answer to `identity` carries: a guest's (renewed) token.
    private func identityHeaders(_ identity: ConnectionIdentity) -> HTTPFields {
        var headers = HTTPFields()
        if let token = identity.guestToken { headers[Self.guestTokenHeader] = token }
        return headers
    }

    /// A connection for one stream, registered with the gateway's others.
    private func open(for identity: ConnectionIdentity, transport: any ConnectionTransport) async throws(Refusal) -> ConnectionSession {
        let session = ConnectionSession(identity: identity, transport: transport, services: services, isWebSocket: false)
        switch await services.registry.add(session.connection) {
        case .added:
            return session
        case .draining:
            throw Refusal(status: .serviceUnavailable, .internal, "gateway shutting down; try another")
        case .overUserLimit:
            services.metrics.recordRefusal(.connectionsPerUser)
            let limit = services.settings.maxConnectionsPerUser
            throw Refusal(status: .tooManyRequests, .rateLimited, "too many open streams and connections for this user (\(limit))")
        }
    }

    /// The JSON body of a refusal: `{"error", "message", "ref"?}`.
    static func errorBody(_ refusal: Refusal) -> ByteBuffer {
        var object: [String: JSONValue] = ["error": .string(refusal.code), "message": .string(refusal.message)]
        if let ref = refusal.ref { object["ref"] = .string(ref) }
        return ByteBuffer(string: JSONValue.object(object).jsonString())
    }

    /// The HTTP status of a refused run or watch.
    static func status(of code: ErrorCode) -> HTTPResponse.Status {
        switch code {
        case .badRequest, .unknownType: .badRequest
        // Someone else's thread is not found: no probing which threads exist.
        case .forbidden, .notFound: .notFound
        case .threadBusy, .conflict: .conflict
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
        var clientTools: [ToolSpec] = []
        var toolResults: [ClientToolResult] = []
    }

    /// Starts the run `wanted` asks for (or picks up the active run it names) and watches it.
    private func run(
        _ wanted: RunRequest,
        identity: ConnectionIdentity,
        transport: any ConnectionTransport,
        encoder: (_ runID: String) -> any StreamEventEncoder
    ) async throws(Refusal) -> (ConnectionSession, any StreamEventEncoder) {
        let session = try await open(for: identity, transport: transport)
        do {
            let runID = try await start(wanted, in: session)
            return (session, encoder(runID))
        } catch {
            await session.end(registered: true)
            throw error
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
            content: wanted.message,
            threadID: threadID,
            runID: wanted.runID,
            clientMessageID: messageID,
            clientTools: wanted.clientTools,
            toolResults: wanted.toolResults
        )
        switch outcome {
        case .queued(let queued):
            return queued.runID
        case .refused(let error):
            throw Refusal(error)
        }
    }

    /// The active run of a thread of `identity`'s; nil when it has none. Someone else's thread is not found either: no
    /// probing.
    private func activeRun(ofOwnThread threadID: String, identity: ConnectionIdentity) async throws(Refusal) -> RunStore.ActiveRun? {
        do {
            guard try await services.runs.owner(ofThread: threadID) == identity.userID else {
                throw Refusal(status: .notFound, .notFound, "no such thread")
            }
            return try await services.runs.activeRun(ofThread: threadID)
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw Refusal(status: .serviceUnavailable, .internal, "cannot reach the thread now; try again")
        }
    }

    /// Continues the thread's paused run with the answers of an AG-UI request's `resume[]` (DESIGN.md section 8): watches
    /// the thread from now, takes each decision, and streams the run's rest as a new AG-UI run.
    private func resume(
        _ input: AGUIRunInput,
        identity: ConnectionIdentity,
        transport: any ConnectionTransport
    ) async throws(Refusal) -> (ConnectionSession, any StreamEventEncoder) {
        let threadID = try AGUIStream.threadID(input.threadID)
        guard let active = try await activeRun(ofOwnThread: threadID, identity: identity) else {
            throw Refusal(status: .conflict, .conflict, "the thread has no paused run to resume")
        }
        let session = try await open(for: identity, transport: transport)
        // Watching from the log's end before deciding: the decision's events all come after it.
        if let refusal = await session.watch(threadID, afterSeq: active.lastSeq, epoch: active.epoch, awaitingCatchUp: false) {
            await session.end(registered: true)
            throw Refusal(refusal)
        }
        var waitingAgents: [String] = []
        for answer in input.resume {
            let outcome: RunStore.DecisionOutcome
            do {
                guard ConnectionSession.isValidID(answer.approvalID) else {
                    throw Refusal(status: .notFound, .notFound, "no interrupt \(answer.approvalID)")
                }
                outcome = try await services.runs.decide(
                    approvalID: answer.approvalID,
                    userID: identity.userID,
                    decision: answer.approve ? .approved : .denied,
                    arguments: answer.arguments.map(JSONValue.object),
                    reason: answer.reason
                )
            } catch let refusal as Refusal {
                await session.end(registered: true)
                throw refusal
            } catch {
                await session.end(registered: true)
                throw Refusal(status: .serviceUnavailable, .internal, "cannot take the decision now; try again")
            }
            switch outcome {
            case .decided(let record) where record.runID == active.runID:
                services.metrics.recordApprovalResponse(answer.approve ? "approved" : "denied")
                waitingAgents.append(record.agent)
            case .decided:
                // An old request of another run that was still open: decided, but it is not what this stream shows.
                services.metrics.recordApprovalResponse(answer.approve ? "approved" : "denied")
            case .alreadyDecided(let earlier):
                services.metrics.recordApprovalResponse("conflict")
                await session.end(registered: true)
                let what = earlier.map { "already \($0.rawValue)" } ?? "already decided"
                throw Refusal(
                    status: .conflict,
                    code: ErrorCode.conflict.rawValue,
                    message: "interrupt \(answer.approvalID) was \(what)",
                    ref: answer.approvalID
                )
            case .notFound, .forbidden:
                await session.end(registered: true)
                throw Refusal(status: .notFound, .notFound, "no interrupt \(answer.approvalID)")
            }
        }
        let steps = waitingAgents.first.map { $0 == AgentName.supervisor ? [] : [$0] } ?? []
        let encoder = AGUIEventEncoder(
            clientThreadID: input.threadID,
            clientRunID: input.runID,
            runID: active.runID,
            continuing: .init(openSteps: steps, afterSeq: active.lastSeq)
        )
        return (session, encoder)
    }

    /// Watches the thread's active run from its start (history, then live); nil when it has none.
    private func reattach(
        _ threadID: String,
        identity: ConnectionIdentity,
        transport: any ConnectionTransport,
        encoder: (_ runID: String) -> any StreamEventEncoder
    ) async throws(Refusal) -> (ConnectionSession, any StreamEventEncoder)? {
        guard let active = try await activeRun(ofOwnThread: threadID, identity: identity) else { return nil }
        let session = try await open(for: identity, transport: transport)
        if let refusal = await session.watch(threadID, afterSeq: active.afterSeq, epoch: active.epoch, awaitingCatchUp: false) {
            await session.end(registered: true)
            throw Refusal(refusal)
        }
        return (session, encoder(active.runID))
    }
}
