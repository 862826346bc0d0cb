import HeraldProtocol
import Hummingbird
import Logging

/// `POST /agui` (start a run, or pick up the thread's active run it names) and `GET /agui/{threadId}` (pick up the
/// thread's active run), answered as AG-UI 1.0 event streams (docs/agui.md).
struct AGUIRoutes: Sendable {
    static let endpoint = "agui"

    let streams: StandardStreams

    func add(to router: Router<GatewayRequestContext>) {
        router.post("agui") { request, context in
            await run(request, context: context)
        }
        router.get("agui/:threadId") { request, context in
            await reattach(request, context: context)
        }
    }

    private func run(_ request: Request, context: GatewayRequestContext) async -> Response {
        await streams.run(request, channel: context.channel, endpoint: Self.endpoint) { body throws(StandardStreams.Refusal) in
            let input: AGUIRunInput
            do throws(AGUIRunInput.Invalid) {
                input = try AGUIRunInput(json: String(buffer: body))
            } catch {
                throw StandardStreams.Refusal(status: .badRequest, .badRequest, error.description)
            }
            return StandardStreams.RunRequest(
                threadID: StandardIDs.herald(for: input.threadID, prefix: "agui"), runID: StandardIDs.herald(for: input.runID, prefix: "agui"),
                message: input.message, messageID: input.messageID, clientThreadID: input.threadID, clientRunID: input.runID,
                clientTools: input.tools, toolResults: input.toolResults)
        } encoder: { wanted, runID in
            AGUIEventEncoder(clientThreadID: wanted.clientThreadID, clientRunID: wanted.clientRunID ?? runID, runID: runID)
        }
    }

    private func reattach(_ request: Request, context: GatewayRequestContext) async -> Response {
        guard let clientThreadID = StandardIDs.pathParameter("threadId", of: context), StandardIDs.isAcceptable(clientThreadID) else {
            return StandardStreams.errorResponse(.init(status: .badRequest, .badRequest, "the thread id must be 1 to 128 printable ASCII characters"))
        }
        // The client's run id, when it says which it started; else the run's Herald id.
        let clientRunID = request.uri.queryParameters.get("runId").flatMap { StandardIDs.isAcceptable($0) ? $0 : nil }
        return await streams.reattach(
            request, channel: context.channel, threadID: StandardIDs.herald(for: clientThreadID, prefix: "agui"), endpoint: Self.endpoint
        ) { runID in
            AGUIEventEncoder(clientThreadID: clientThreadID, clientRunID: clientRunID ?? runID, runID: runID)
        }
    }
}
