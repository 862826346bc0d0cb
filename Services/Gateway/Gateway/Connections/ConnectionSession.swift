import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import NIOCore

/// One accepted WebSocket's work: admitting it, handling the client's messages (given one at a time, in
/// order, by its `WebSocketConnectionHandler`), and letting go of everything it watched when it ends.
struct ConnectionSession: Sendable {
    let services: ConnectionServices
    let connection: Connection
    let logger: Logger
    /// A WebSocket (counted in `herald_gateway_connections`), not a standard stream (counted by its endpoint).
    private let isWebSocket: Bool

    init(identity: ConnectionIdentity, transport: any ConnectionTransport, services: ConnectionServices, isWebSocket: Bool = true) {
        self.isWebSocket = isWebSocket
        let id = Identifier.make(isWebSocket ? "conn" : "sse")
        var logger = services.logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "user"] = "\(identity.userID)"
        self.services = services
        self.logger = logger
        connection = Connection(
            id: id,
            identity: identity,
            transport: transport,
            history: services.history,
            queueLimit: services.settings.outboundQueueBytes,
            closeTimeout: services.settings.closeTimeout,
            threadLimit: services.settings.maxThreadsPerConnection,
            metrics: services.metrics,
            logger: logger
        )
    }

    /// Registers the connection and greets the client; false (and closing) when the gateway is shutting
    /// down or the user has too many connections.
    func start() async -> Bool {
        switch await services.registry.add(connection) {
        case .added:
            break
        case .draining:
            await connection.close(code: HeraldCloseCode.goingAway, reason: "gateway shutting down")
            return false
        case .overUserLimit:
            // Accepted, then closed: a browser only sees a close code, never the status of a refused upgrade.
            services.metrics.recordRefusal(.connectionsPerUser)
            logger.notice("connection refused: too many connections for this user", metadata: ["limit": "\(services.settings.maxConnectionsPerUser)"])
            await connection.close(code: HeraldCloseCode.tooManyConnections, reason: "too many connections for this user")
            return false
        }
        services.metrics.connections.increment()
        services.metrics.connectionsOpened.increment()
        logger.info("connection opened")
        let identity = connection.identity
        let established = ServerMessage.ConnectionEstablished(
            connectionID: connection.id,
            userID: identity.userID,
            serverTime: HeraldTimestamp.now(),
            guestToken: identity.guestToken
        )
        await connection.send(.connectionEstablished(established))
        await connection.closeWhenTokenExpires()
        return true
    }

    /// The socket closed: stops the connection and, if it was registered, lets go of what it watched.
    func end(registered: Bool) async {
        await connection.inboundEnded()
        guard registered else { return }
        for thread in await connection.watchedThreads() {
            await services.fanout.unwatch(thread, by: connection)
        }
        await services.registry.remove(connection)
        if isWebSocket { services.metrics.connections.decrement() }
        let reason = await connection.closeCause?.description ?? "closed by the client or the network"
        logger.info("connection closed", metadata: ["reason": "\(reason)"])
    }

    // MARK: Messages

    /// One text message from the client. `overRate` when it came faster than the connection's rate allows,
    /// `startsBurst` when the one before it did not.
    func receive(_ text: String, overRate: Bool, startsBurst: Bool) async {
        // After a close has started, the client's remaining frames are read (to see its close reply) but not acted on.
        guard await !connection.isClosing else { return }
        guard overRate else { return await handle(text) }
        if startsBurst {
            // One line per burst of refusals, not one per refused message.
            let settings = services.settings
            logger.notice("rate limited", metadata: ["per_second": "\(settings.rateLimitPerSecond)", "burst": "\(settings.rateLimitBurst)"])
        }
        await refuseOverRate(text)
    }

    /// Answers a message over the connection's rate with `rate_limited` and otherwise ignores it.
    /// An error frame does not close the connection (DESIGN.md); a client that floods on without
    /// reading its answers fills its queue and is closed as a slow consumer (4008).
    private func refuseOverRate(_ text: String) async {
        services.metrics.recordRefusal(.rate)
        let settings = services.settings
        let ref = (try? ClientMessage.decode(text.utf8)).flatMap(Self.ref(of:))
        await reject(
            .rateLimited,
            "more than \(settings.rateLimitPerSecond) messages a second (bursts of \(settings.rateLimitBurst)); this one was ignored",
            ref: ref
        )
    }

    /// What an error about the message refers to, as README.md lists it.
    static func ref(of message: ClientMessage) -> String? {
        switch message {
        case .userMessage(let message): message.clientMessageID
        case .cancelRun(let runID): runID
        case .resume(let resume): resume.threadID
        case .approvalResponse(let response): response.approvalID
        case .ping: nil
        }
    }

    private func handle(_ text: String) async {
        let message: ClientMessage
        do {
            message = try ClientMessage.decode(text.utf8)
        } catch {
            await connection.send(.error(error))
            return
        }
        switch message {
        case .ping:
            await connection.send(.pong)
        case .userMessage(let userMessage):
            await submit(userMessage)
        case .cancelRun(let runID):
            await cancel(runID)
        case .resume(let resume):
            await self.resume(resume)
        case .approvalResponse(let response):
            await answer(response)
        }
    }

    private func reject(_ code: ErrorCode, _ message: String, ref: String?) async {
        await connection.send(.error(ProtocolError(code, message, ref: ref)))
    }

    // MARK: user_message

    private func submit(_ message: ClientMessage.UserMessage) async {
        let outcome = await startRun(content: message.content, threadID: message.threadID, clientMessageID: message.clientMessageID)
        if case .refused(let error) = outcome {
            await connection.send(.error(error))
        }
    }

    /// How a request to start a run was taken: a `user_message`, or a standard stream's request.
    enum RunSubmission: Sendable, Equatable {
        /// Queued; `run_queued` went out and the connection watches the thread from just before the run.
        case queued(ServerMessage.RunQueued)
        case refused(ProtocolError)
    }

    /// Checks and queues a run on the thread (a new one when `threadID` is nil), the connection watching it from just
    /// before the run's first event. `runID` is the run's id when the client chose one (a standard stream's request).
    /// `toolResults` continue a run that handed client tool calls over; then `content` may be empty.
    func startRun(
        content: String,
        threadID requestedThread: String?,
        runID requestedRun: String? = nil,
        clientMessageID: String?,
        clientTools: [ToolSpec] = [],
        toolResults: [ClientToolResult] = []
    ) async -> RunSubmission {
        let ref = clientMessageID
        guard !toolResults.isEmpty || !content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .refused(ProtocolError(.badRequest, "field 'content' must not be empty", ref: ref))
        }
        let limit = services.settings.maxMessageCharacters
        // Code points, not bytes: the frame size limit bounds bytes already; this bounds what a model is asked to read.
        guard content.unicodeScalars.count <= limit else {
            services.metrics.recordRefusal(.messageLength)
            return .refused(ProtocolError(.tooLarge, "field 'content' is longer than \(limit) characters", ref: ref))
        }
        if let threadID = requestedThread, !Self.isValidID(threadID) {
            return .refused(ProtocolError(.badRequest, "field 'thread_id' is not a valid thread id", ref: ref))
        }
        if let runID = requestedRun, !Self.isValidID(runID) {
            return .refused(ProtocolError(.badRequest, "the run id is not a valid run id", ref: ref))
        }
        let threadID = requestedThread ?? Identifier.make("thr")
        guard await connection.canWatch(threadID) else {
            return .refused(refusalOverThreadLimit(ref: ref))
        }
        // A continuation handing client tool results back is the same run, not a new one.
        let admission: TokenAuthenticator.RunAdmission =
            toolResults.isEmpty ? await services.authenticator.admitRun(of: connection.identity) : .unlimited
        guard admission != .refused else {
            services.metrics.recordRefusal(.guestRuns)
            let limit = services.settings.guestRunsPerHour
            return .refused(ProtocolError(.rateLimited, "a guest may start \(limit) runs an hour; sign in, or try again later", ref: ref))
        }
        let request = RunRequest(
            runID: requestedRun ?? Identifier.make("run"),
            threadID: threadID,
            userID: connection.identity.userID,
            content: content,
            clientMessageID: clientMessageID,
            clientTools: clientTools.isEmpty ? nil : clientTools,
            toolResults: toolResults.isEmpty ? nil : toolResults
        )
        // Hold the thread's frames and subscribe before the run exists, so none of its events is missed
        // and `run_queued` goes out before the first of them.
        let isNewWatch = await connection.hold(threadID)
        if isNewWatch, !(await subscribe(threadID)) {
            await services.authenticator.withdraw(admission)
            return .refused(ProtocolError(.internal, "cannot subscribe to the thread now; try again", ref: ref))
        }
        let outcome: RunStore.SubmitOutcome
        do {
            outcome = try await services.runs.submit(request)
        } catch {
            await undoHold(threadID, isNewWatch: isNewWatch)
            await services.authenticator.withdraw(admission)
            logger.warning("cannot queue run", metadata: ["thread": "\(threadID)", "error": "\(error)"])
            return .refused(ProtocolError(.internal, "cannot queue the run now; try again", ref: ref))
        }
        switch outcome {
        case .queued(let lastSeq, let epoch):
            services.metrics.runsQueued.increment()
            logger.info("run queued", metadata: ["run": "\(request.runID)", "thread": "\(threadID)"])
            let queued = ServerMessage.RunQueued(runID: request.runID, threadID: threadID, clientMessageID: clientMessageID)
            await connection.release(threadID, position: isNewWatch ? (lastSeq, epoch) : nil, reply: .runQueued(queued))
            return .queued(queued)
        case .forbidden:
            await undoHold(threadID, isNewWatch: isNewWatch)
            await services.authenticator.withdraw(admission)
            return .refused(ProtocolError(.forbidden, "thread \(threadID) belongs to another user", ref: ref))
        case .busy(let activeRunID):
            await undoHold(threadID, isNewWatch: isNewWatch)
            await services.authenticator.withdraw(admission)
            return .refused(ProtocolError(.threadBusy, "a run is already active on thread \(threadID)", ref: activeRunID))
        case .runExists:
            await undoHold(threadID, isNewWatch: isNewWatch)
            await services.authenticator.withdraw(admission)
            return .refused(ProtocolError(.badRequest, "run \(request.runID) ran before; a new run needs a new id", ref: ref))
        }
    }

    private func undoHold(_ threadID: String, isNewWatch: Bool) async {
        if isNewWatch {
            await connection.forget(threadID)
            await services.fanout.unwatch(threadID, by: connection)
        } else {
            await connection.release(threadID, position: nil, reply: nil)
        }
    }

    // MARK: cancel_run

    private func cancel(_ runID: String) async {
        guard Self.isValidID(runID) else {
            return await reject(.badRequest, "field 'run_id' is not a valid run id", ref: nil)
        }
        do {
            switch try await services.runs.cancel(runID: runID, userID: connection.identity.userID) {
            case .cancelled(let threadID):
                logger.info("run cancel requested", metadata: ["run": "\(runID)", "thread": "\(threadID)"])
            case .alreadyFinished:
                logger.debug("cancel of a finished run ignored", metadata: ["run": "\(runID)"])
            case .notFound:
                await reject(.notFound, "no run \(runID)", ref: runID)
            case .forbidden:
                await reject(.forbidden, "run \(runID) belongs to another user", ref: runID)
            }
        } catch {
            logger.warning("cannot cancel run", metadata: ["run": "\(runID)", "error": "\(error)"])
            await reject(.internal, "cannot cancel the run now; try again", ref: runID)
        }
    }

    // MARK: approval_response

    /// The longest `reason` an approval response may give, in characters.
    static let maximumReasonCharacters = 1000

    private func answer(_ response: ClientMessage.ApprovalResponse) async {
        let approvalID = response.approvalID
        guard Self.isValidID(approvalID) else {
            return await reject(.badRequest, "field 'approval_id' is not a valid approval id", ref: nil)
        }
        if let reason = response.reason, reason.count > Self.maximumReasonCharacters {
            return await reject(.tooLarge, "field 'reason' is longer than \(Self.maximumReasonCharacters) characters", ref: approvalID)
        }
        let decision: ApprovalDecision = response.decision == .approve ? .approved : .denied
        let userID = connection.identity.userID
        do {
            switch try await services.runs.decide(
                approvalID: approvalID,
                userID: userID,
                decision: decision,
                arguments: response.arguments.map(JSONValue.object),
                reason: response.reason
            ) {
            case .decided:
                services.metrics.recordApprovalResponse(decision.rawValue)
                logger.info("approval decided", metadata: ["approval_id": "\(approvalID)", "decision": "\(decision.rawValue)"])
            case .alreadyDecided(let earlier):
                services.metrics.recordApprovalResponse("conflict")
                let what = earlier.map { "already \($0.rawValue)" } ?? "already decided"
                await reject(.conflict, "approval \(approvalID) was \(what)", ref: approvalID)
            case .notFound:
                await reject(.notFound, "no approval \(approvalID)", ref: approvalID)
            case .forbidden:
                await reject(.forbidden, "approval \(approvalID) belongs to another user", ref: approvalID)
            }
        } catch {
            logger.warning("cannot decide an approval", metadata: ["approval_id": "\(approvalID)", "error": "\(error)"])
            await reject(.internal, "cannot take the decision now; try again", ref: approvalID)
        }
    }

    // MARK: resume

    private func resume(_ resume: ClientMessage.Resume) async {
        if let refusal = await watch(resume.threadID, afterSeq: resume.afterSeq, epoch: resume.epoch) {
            await connection.send(.error(refusal))
        }
    }

    /// Checks the thread is the user's, then watches it from `afterSeq`: history first, then live frames. Nil when
    /// watching, else why not. With `awaitingCatchUp` false it returns before history is sent (a stream whose reader
    /// starts only after the answer), else after.
    func watch(_ threadID: String, afterSeq: Int, epoch: String?, awaitingCatchUp: Bool = true) async -> ProtocolError? {
        guard Self.isValidID(threadID) else {
            return ProtocolError(.badRequest, "field 'thread_id' is not a valid thread id", ref: nil)
        }
        guard await connection.canWatch(threadID) else {
            return refusalOverThreadLimit(ref: threadID)
        }
        let owner: String?
        do {
            owner = try await services.runs.owner(ofThread: threadID)
        } catch {
            logger.warning("cannot look up thread owner", metadata: ["thread": "\(threadID)", "error": "\(error)"])
            return ProtocolError(.internal, "cannot resume the thread now; try again", ref: threadID)
        }
        guard let owner else {
            return ProtocolError(.notFound, "no thread \(threadID)", ref: threadID)
        }
        guard owner == connection.identity.userID else {
            return ProtocolError(.forbidden, "thread \(threadID) belongs to another user", ref: threadID)
        }
        let epoch = epoch.flatMap { $0.isEmpty ? nil : $0 }
        let (isNewWatch, mustRun) = await connection.beginResume(threadID, afterSeq: afterSeq, epoch: epoch)
        // Subscribed before history is read: whatever is published after the read arrives live.
        if isNewWatch, !(await subscribe(threadID)) {
            return ProtocolError(.internal, "cannot subscribe to the thread now; try again", ref: threadID)
        }
        if mustRun {
            if awaitingCatchUp {
                await connection.runCatchUp(threadID)
            } else {
                Task { [connection] in await connection.runCatchUp(threadID) }
            }
        }
        return nil
    }

    /// A message that would make the connection watch one thread more than `HERALD_MAX_THREADS_PER_CONNECTION`.
    /// DESIGN.md has no code of its own for it: `rate_limited` is the one for a limit of use.
    private func refusalOverThreadLimit(ref: String?) -> ProtocolError {
        services.metrics.recordRefusal(.threadsPerConnection)
        let limit = services.settings.maxThreadsPerConnection
        return ProtocolError(.rateLimited, "this connection already watches \(limit) threads, the most allowed; reconnect to watch others", ref: ref)
    }

    /// Ids that go into Redis keys: letters, digits, `_` and `-`, at most 64 of them.
    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2D
            }
    }

    /// Subscribes the connection to a thread it just began to watch; on failure it stops watching it.
    private func subscribe(_ threadID: String) async -> Bool {
        do {
            try await services.fanout.watch(threadID, by: connection)
            return true
        } catch {
            await connection.forget(threadID)
            logger.warning("cannot subscribe to thread", metadata: ["thread": "\(threadID)", "error": "\(error)"])
            return false
        }
    }
}
