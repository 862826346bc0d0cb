import Foundation
import HeraldCore
import HeraldProtocol
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// Runs one accepted WebSocket: a reader that handles the client's messages in order, and a writer
/// that drains the connection's queue onto the socket.
struct ConnectionSession: Sendable {
    let services: ConnectionServices
    let connection: Connection
    let logger: Logger

    /// Serves the socket until it closes, then lets go of everything it watched.
    static func run(
        identity: ConnectionIdentity,
        channel: any Channel,
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        services: ConnectionServices
    ) async throws {
        let id = Identifier.make("conn")
        var logger = services.logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "user"] = "\(identity.userID)"
        let connection = Connection(
            id: id,
            identity: identity,
            channel: channel,
            history: services.history,
            queueLimit: services.settings.outboundQueueBytes,
            closeTimeout: services.settings.closeTimeout,
            threadLimit: services.settings.maxThreadsPerConnection,
            metrics: services.metrics,
            logger: logger
        )
        switch await services.registry.add(connection) {
        case .added:
            break
        case .draining:
            try await outbound.close(WebSocketErrorCode(codeNumber: Int(HeraldCloseCode.goingAway)), reason: "gateway shutting down")
            return
        case .overUserLimit:
            // Accepted, then closed: a browser only sees a close code, never the status of a refused upgrade.
            services.metrics.recordRefusal(.connectionsPerUser)
            logger.notice("connection refused: too many connections for this user", metadata: ["limit": "\(services.settings.maxConnectionsPerUser)"])
            try await outbound.close(WebSocketErrorCode(codeNumber: Int(HeraldCloseCode.tooManyConnections)), reason: "too many connections for this user")
            return
        }
        ConnectionTimeoutHandler.onIdle(of: channel) {
            Task { await connection.close(code: HeraldCloseCode.goingAway, reason: "idle: nothing heard from the client; reconnect and resume") }
        }
        services.metrics.connections.increment()
        services.metrics.connectionsOpened.increment()
        logger.info("connection opened")

        let established = ServerMessage.ConnectionEstablished(
            connectionID: id,
            userID: identity.userID,
            serverTime: HeraldTimestamp.now(),
            guestToken: identity.guestToken
        )
        await connection.send(.connectionEstablished(established))
        await connection.closeWhenTokenExpires()

        let session = ConnectionSession(services: services, connection: connection, logger: logger)
        var failure: (any Error)?
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await session.write(to: outbound) }
            do {
                try await session.read(inbound)
            } catch {
                failure = error
            }
            await connection.inboundEnded()
            group.cancelAll()
        }

        for thread in await connection.watchedThreads() {
            await services.fanout.unwatch(thread, by: connection)
        }
        await services.registry.remove(connection)
        services.metrics.connections.decrement()
        let reason = await connection.closeCause?.description ?? failure.map { "error: \($0)" } ?? "closed by the client or the network"
        logger.info("connection closed", metadata: ["reason": "\(reason)"])
        // WSCore turns the error (e.g. an oversized fragmented message) into the matching close code.
        if let failure { throw failure }
    }

    // MARK: Writer

    private func write(to outbound: WebSocketOutboundWriter) async {
        do {
            while let batch = await connection.nextBatch() {
                for item in batch {
                    switch item {
                    case .text(let text, let isEvent, let emittedAt):
                        // The frame's bytes are shared by every watcher: no per-connection copy or re-encoding.
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: text)))
                        if isEvent {
                            services.metrics.framesSent.increment()
                            if let emittedAt { services.metrics.recordLatency(since: emittedAt) }
                        }
                    case .close(let code, let reason):
                        try await outbound.close(WebSocketErrorCode(codeNumber: Int(code)), reason: reason)
                        return
                    }
                }
            }
        } catch {
            logger.debug("write to socket failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Reader

    private func read(_ inbound: WebSocketInboundStream) async throws {
        let settings = services.settings
        // The reader's own value: messages are taken one at a time, so the bucket needs no actor.
        var bucket = TokenBucket(ratePerSecond: settings.rateLimitPerSecond, burst: settings.rateLimitBurst, now: ContinuousClock.now)
        var limiting = false
        for try await message in inbound.messages(maxSize: settings.maxFrameBytes) {
            // After a close has started, the client's remaining frames are read (to see its close reply) but not acted on.
            guard await !connection.isClosing else { continue }
            switch message {
            case .binary:
                await connection.close(code: HeraldCloseCode.unsupportedData, reason: "binary frames are not supported; send JSON text")
            case .text(let text):
                if bucket.take(at: .now) {
                    limiting = false
                    await handle(text)
                } else {
                    if !limiting {
                        // One line per burst of refusals, not one per refused message.
                        logger.notice("rate limited", metadata: ["per_second": "\(settings.rateLimitPerSecond)", "burst": "\(settings.rateLimitBurst)"])
                        limiting = true
                    }
                    await refuseOverRate(text)
                }
            }
        }
    }

    /// Answers a message over the connection's rate with `rate_limited` and otherwise ignores it.
    /// An error frame does not close the connection (DESIGN.md); a client that floods on without
    /// reading its answers fills its queue and is closed as a slow consumer (4008).
    private func refuseOverRate(_ text: String) async {
        services.metrics.recordRefusal(.rate)
        let settings = services.settings
        let ref = (try? ClientMessage.decode(text.utf8)).flatMap(Self.ref(of:))
        await reject(.rateLimited, "more than \(settings.rateLimitPerSecond) messages a second (bursts of \(settings.rateLimitBurst)); this one was ignored", ref: ref)
    }

    /// What an error about the message refers to, as README.md lists it.
    static func ref(of message: ClientMessage) -> String? {
        switch message {
        case .userMessage(let message): message.clientMessageID
        case .cancelRun(let runID): runID
        case .resume(let resume): resume.threadID
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
        }
    }

    private func reject(_ code: ErrorCode, _ message: String, ref: String?) async {
        await connection.send(.error(ProtocolError(code, message, ref: ref)))
    }

    // MARK: user_message

    private func submit(_ message: ClientMessage.UserMessage) async {
        let ref = message.clientMessageID
        guard !message.content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return await reject(.badRequest, "field 'content' must not be empty", ref: ref)
        }
        let limit = services.settings.maxMessageCharacters
        // Code points, not bytes: the frame size limit bounds bytes already; this bounds what a model is asked to read.
        guard message.content.unicodeScalars.count <= limit else {
            services.metrics.recordRefusal(.messageLength)
            return await reject(.tooLarge, "field 'content' is longer than \(limit) characters", ref: ref)
        }
        if let threadID = message.threadID, !Self.isValidID(threadID) {
            return await reject(.badRequest, "field 'thread_id' is not a valid thread id", ref: ref)
        }
        let threadID = message.threadID ?? Identifier.make("thr")
        guard await connection.canWatch(threadID) else {
            return await refuseThreadOverLimit(ref: ref)
        }
        let request = RunRequest(
            runID: Identifier.make("run"),
            threadID: threadID,
            userID: connection.identity.userID,
            content: message.content,
            clientMessageID: message.clientMessageID
        )
        // Hold the thread's frames and subscribe before the run exists, so none of its events is missed
        // and `run_queued` goes out before the first of them.
        let isNewWatch = await connection.hold(threadID)
        if isNewWatch {
            do {
                try await services.fanout.watch(threadID, by: connection)
            } catch {
                await connection.forget(threadID)
                logger.warning("cannot subscribe to thread", metadata: ["thread": "\(threadID)", "error": "\(error)"])
                return await reject(.internal, "cannot subscribe to the thread now; try again", ref: ref)
            }
        }
        let outcome: RunStore.SubmitOutcome
        do {
            outcome = try await services.runs.submit(request)
        } catch {
            await undoHold(threadID, isNewWatch: isNewWatch)
            logger.warning("cannot queue run", metadata: ["thread": "\(threadID)", "error": "\(error)"])
            return await reject(.internal, "cannot queue the run now; try again", ref: ref)
        }
        switch outcome {
        case .queued(let lastSeq, let epoch):
            services.metrics.runsQueued.increment()
            logger.info("run queued", metadata: ["run": "\(request.runID)", "thread": "\(threadID)"])
            let queued = ServerMessage.RunQueued(runID: request.runID, threadID: threadID, clientMessageID: message.clientMessageID)
            await connection.release(threadID, position: isNewWatch ? (lastSeq, epoch) : nil, reply: .runQueued(queued))
        case .forbidden:
            await undoHold(threadID, isNewWatch: isNewWatch)
            await reject(.forbidden, "thread \(threadID) belongs to another user", ref: ref)
        case .busy(let activeRunID):
            await undoHold(threadID, isNewWatch: isNewWatch)
            await reject(.threadBusy, "a run is already active on thread \(threadID)", ref: activeRunID)
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

    // MARK: resume

    private func resume(_ resume: ClientMessage.Resume) async {
        let threadID = resume.threadID
        guard Self.isValidID(threadID) else {
            return await reject(.badRequest, "field 'thread_id' is not a valid thread id", ref: nil)
        }
        guard await connection.canWatch(threadID) else {
            return await refuseThreadOverLimit(ref: threadID)
        }
        let owner: String?
        do {
            owner = try await services.runs.owner(ofThread: threadID)
        } catch {
            logger.warning("cannot look up thread owner", metadata: ["thread": "\(threadID)", "error": "\(error)"])
            return await reject(.internal, "cannot resume the thread now; try again", ref: threadID)
        }
        guard let owner else {
            return await reject(.notFound, "no thread \(threadID)", ref: threadID)
        }
        guard owner == connection.identity.userID else {
            return await reject(.forbidden, "thread \(threadID) belongs to another user", ref: threadID)
        }
        let epoch = resume.epoch.flatMap { $0.isEmpty ? nil : $0 }
        let (isNewWatch, mustRun) = await connection.beginResume(threadID, afterSeq: resume.afterSeq, epoch: epoch)
        if isNewWatch {
            // Subscribed before history is read: whatever is published after the read arrives live.
            do {
                try await services.fanout.watch(threadID, by: connection)
            } catch {
                await connection.forget(threadID)
                logger.warning("cannot subscribe to thread", metadata: ["thread": "\(threadID)", "error": "\(error)"])
                return await reject(.internal, "cannot subscribe to the thread now; try again", ref: threadID)
            }
        }
        if mustRun {
            await connection.runCatchUp(threadID)
        }
    }

    /// A message that would make the connection watch one thread more than `HERALD_MAX_THREADS_PER_CONNECTION`.
    /// DESIGN.md has no code of its own for it: `rate_limited` is the one for a limit of use.
    private func refuseThreadOverLimit(ref: String?) async {
        services.metrics.recordRefusal(.threadsPerConnection)
        let limit = services.settings.maxThreadsPerConnection
        await reject(.rateLimited, "this connection already watches \(limit) threads, the most allowed; reconnect to watch others", ref: ref)
    }

    /// Ids that go into Redis keys: letters, digits, `_` and `-`, at most 64 of them.
    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2D
        }
    }
}
