import HTTPTypes
import Hummingbird

/// `POST /api/chat` (the AI SDK's `useChat` default transport: start a run on the chat's thread) and
/// `GET /api/chat/{id}/stream` (resume its active run, 204 when none), answered as the UI message stream v1
/// (docs/ai-sdk.md). The resumed stream comes from Redis history, so it survives the gateway that started the run.
struct AISDKRoutes: Sendable {
    static let endpoint = "ai_sdk"
    /// The header `useChat` checks before it reads a stream as UI message parts.
    static let streamHeader = HTTPField.Name("x-vercel-ai-ui-message-stream")!
    /// What ends a finished stream.
    static let done = "data: [DONE]\n\n"

    let streams: StandardStreams

    func add(to router: Router<GatewayRequestContext>) {
        router.post("api/chat") { request, context in
            Self.marked(await run(request, context: context))
        }
        router.get("api/chat/:id/stream") { request, context in
            guard let chatID = StandardIDs.pathParameter("id", of: context), StandardIDs.isAcceptable(chatID) else {
                return StandardStreams.errorResponse(.init(status: .badRequest, .badRequest, "the chat id must be 1 to 128 printable ASCII characters"))
            }
            let response = await streams.reattach(
                request, channel: context.channel, threadID: StandardIDs.herald(for: chatID, prefix: "chat"), endpoint: Self.endpoint,
                encoder: { UIMessageStreamEncoder(runID: $0) }, trailer: Self.done)
            return Self.marked(response)
        }
    }

    private func run(_ request: Request, context: GatewayRequestContext) async -> Response {
        await streams.run(request, channel: context.channel, endpoint: Self.endpoint, trailer: Self.done) { body throws(StandardStreams.Refusal) in
            let chat: ChatRequest
            do throws(ChatRequest.Invalid) {
                chat = try ChatRequest(json: String(buffer: body))
            } catch {
                throw StandardStreams.Refusal(status: .badRequest, .badRequest, error.description)
            }
            return StandardStreams.RunRequest(
                threadID: StandardIDs.herald(for: chat.chatID, prefix: "chat"), runID: nil, message: chat.message, messageID: chat.messageID,
                clientThreadID: chat.chatID, clientRunID: nil)
        } encoder: { _, runID in
            UIMessageStreamEncoder(runID: runID)
        }
    }

    /// A stream carries the protocol's header; an error answer does not need it.
    private static func marked(_ response: Response) -> Response {
        guard response.headers[.contentType] == "text/event-stream" else { return response }
        var response = response
        response.headers[streamHeader] = "v1"
        return response
    }
}
