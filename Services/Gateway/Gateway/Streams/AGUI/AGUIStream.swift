import NIOCore

/// What AG-UI requests (`POST /agui`, `GET /agui/{threadId}`) mean in Herald's terms (docs/agui.md).
enum AGUIStream {
    /// The `RunAgentInput` in a `POST /agui` body.
    static func input(_ body: ByteBuffer) throws(StandardStreams.Refusal) -> AGUIRunInput {
        do throws(AGUIRunInput.Invalid) {
            return try AGUIRunInput(json: String(buffer: body))
        } catch {
            throw StandardStreams.Refusal(status: .badRequest, .badRequest, error.description)
        }
    }

    /// The run `input` asks for, on the Herald thread its `threadId` maps to.
    static func runRequest(_ input: AGUIRunInput) -> StandardStreams.RunRequest {
        StandardStreams.RunRequest(
            threadID: StandardIDs.herald(for: input.threadID, prefix: "agui"),
            runID: StandardIDs.herald(for: input.runID, prefix: "agui"),
            message: input.message,
            messageID: input.messageID,
            clientThreadID: input.threadID,
            clientRunID: input.runID,
            clientTools: input.tools,
            toolResults: input.toolResults
        )
    }

    /// The Herald thread of a client's `threadId`.
    static func threadID(_ clientThreadID: String) throws(StandardStreams.Refusal) -> String {
        try StandardIDs.heraldThread(for: clientThreadID, prefix: "agui", named: "thread id")
    }
}
