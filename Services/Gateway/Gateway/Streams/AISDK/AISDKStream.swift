import HTTPTypes
import NIOCore

/// What the AI SDK's `useChat` requests (`POST /api/chat`, `GET /api/chat/{id}/stream`) mean in Herald's terms, and
/// what marks and ends its UI message stream v1 (docs/ai-sdk.md).
enum AISDKStream {
    /// The header `useChat` checks before it reads a stream as UI message parts.
    static let streamHeader = HTTPField.Name("x-vercel-ai-ui-message-stream")!
    /// What ends a finished stream.
    static let done = "data: [DONE]\n\n"

    /// The run a `POST /api/chat` body asks for, on the chat's thread.
    static func runRequest(_ body: ByteBuffer) throws(StandardStreams.Refusal) -> StandardStreams.RunRequest {
        let chat: ChatRequest
        do throws(ChatRequest.Invalid) {
            chat = try ChatRequest(json: String(buffer: body))
        } catch {
            throw StandardStreams.Refusal(status: .badRequest, .badRequest, error.description)
        }
        return StandardStreams.RunRequest(
            threadID: StandardIDs.herald(for: chat.chatID, prefix: "chat"),
            runID: nil,
            message: chat.message,
            messageID: chat.messageID,
            clientThreadID: chat.chatID,
            clientRunID: nil
        )
    }

    /// The Herald thread of a chat id.
    static func threadID(_ chatID: String) throws(StandardStreams.Refusal) -> String {
        try StandardIDs.heraldThread(for: chatID, prefix: "chat", named: "chat id")
    }
}
