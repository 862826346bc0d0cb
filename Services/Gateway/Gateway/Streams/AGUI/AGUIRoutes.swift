import HTTPTypes
import HeraldProtocol
import Hummingbird
import Logging

/// `POST /agui` (start a run, or pick up the thread's active run it names) and `GET /agui/{threadId}` (pick up the
/// thread's active run), answered as AG-UI 1.0 event streams (docs/agui.md).
struct AGUIRoutes: Sendable {
    static let endpoint = "agui"

    let streams: StandardStreams

    private var services: ConnectionServices { streams.services }

    func add(to router: Router<GatewayRequestContext>) {
        router.post("agui") { request, context in
            await run(request, context: context)
        }
        router.get("agui/:threadId") { request, context in
            await reattach(request, context: context)
        }
    }

    private func run(_ request: Request, context: GatewayRequestContext) async -> Response {
        var headers = HTTPFields()
        do throws(StandardStreams.Refusal) {
            let identity = try await streams.identify(request)
            headers = streams.identityHeaders(identity)
            let body = try await StandardStreams.body(of: request, limit: services.settings.maxRequestBytes)
            let input: AGUIRunInput
            do {
                input = try AGUIRunInput(json: String(buffer: body))
            } catch {
                throw StandardStreams.Refusal(status: .badRequest, .badRequest, error.description)
            }
            let threadID = StandardIDs.herald(for: input.threadID, prefix: "agui")
            let runID = StandardIDs.herald(for: input.runID, prefix: "agui")
            let (session, transport) = try await streams.open(for: identity, channel: context.channel)
            do {
                try await start(input, threadID: threadID, runID: runID, in: session)
            } catch {
                await streams.close(session)
                throw error
            }
            let encoder = AGUIEventEncoder(clientThreadID: input.threadID, clientRunID: input.runID, runID: runID)
            return streams.response(session, transport, encoder: encoder, endpoint: Self.endpoint, headers: headers)
        } catch {
            var refusal = error
            refusal.headers.append(contentsOf: headers)
            return StandardStreams.errorResponse(refusal)
        }
    }

    /// Queues the run; a request naming the thread's active run (a client retrying) watches that run from its start.
    private func start(_ input: AGUIRunInput, threadID: String, runID: String, in session: ConnectionSession) async throws(StandardStreams.Refusal) {
        let active: RunStore.ActiveRun?
        do {
            active = try await services.runs.activeRun(ofThread: threadID)
        } catch {
            throw StandardStreams.Refusal(status: .serviceUnavailable, .internal, "cannot reach the thread now; try again")
        }
        if let active, active.runID == runID {
            if let refusal = await session.watch(threadID, afterSeq: active.afterSeq, epoch: active.epoch, awaitingCatchUp: false) {
                throw StandardStreams.Refusal(refusal)
            }
            return
        }
        let messageID = input.messageID.flatMap { StandardIDs.isAcceptable($0) ? $0 : nil }
        switch await session.startRun(content: input.message, threadID: threadID, runID: runID, clientMessageID: messageID) {
        case .queued:
            return
        case .refused(let error):
            throw StandardStreams.Refusal(error)
        }
    }

    private func reattach(_ request: Request, context: GatewayRequestContext) async -> Response {
        var headers = HTTPFields()
        do {
            let identity = try await streams.identify(request)
            headers = streams.identityHeaders(identity)
            guard let clientThreadID = context.parameters.get("threadId"), StandardIDs.isAcceptable(clientThreadID) else {
                throw StandardStreams.Refusal(status: .badRequest, .badRequest, "the thread id must be 1 to 128 printable ASCII characters")
            }
            let threadID = StandardIDs.herald(for: clientThreadID, prefix: "agui")
            let (session, transport) = try await streams.open(for: identity, channel: context.channel)
            let active: RunStore.ActiveRun
            do {
                active = try await activeRun(of: threadID, for: identity.userID)
            } catch let refusal as StandardStreams.Refusal {
                await streams.close(session)
                throw refusal
            } catch {
                await streams.close(session)
                if error is NoActiveRun { return Response(status: .noContent, headers: headers) }
                throw StandardStreams.Refusal(status: .serviceUnavailable, .internal, "cannot reach the thread now; try again")
            }
            if let refusal = await session.watch(threadID, afterSeq: active.afterSeq, epoch: active.epoch, awaitingCatchUp: false) {
                await streams.close(session)
                throw StandardStreams.Refusal(refusal)
            }
            // The client's run id, when it says which it started; else the run's Herald id.
            let clientRunID = request.uri.queryParameters.get("runId").flatMap { StandardIDs.isAcceptable($0) ? $0 : nil } ?? active.runID
            let encoder = AGUIEventEncoder(clientThreadID: clientThreadID, clientRunID: clientRunID, runID: active.runID)
            return streams.response(session, transport, encoder: encoder, endpoint: Self.endpoint, headers: headers)
        } catch let refusal as StandardStreams.Refusal {
            var refusal = refusal
            refusal.headers.append(contentsOf: headers)
            return StandardStreams.errorResponse(refusal)
        } catch {
            return StandardStreams.errorResponse(.init(status: .serviceUnavailable, .internal, "cannot answer now; try again"))
        }
    }

    private struct NoActiveRun: Error {}

    /// The thread's active run, after checking the thread is the caller's (someone else's is not found).
    private func activeRun(of threadID: String, for userID: String) async throws -> RunStore.ActiveRun {
        guard try await services.runs.owner(ofThread: threadID) == userID else {
            throw StandardStreams.Refusal(status: .notFound, .notFound, "no thread \(threadID)")
        }
        guard let active = try await services.runs.activeRun(ofThread: threadID) else { throw NoActiveRun() }
        return active
    }
}
