import HeraldCore
import HeraldProtocol

/// What a run is asked to do: the user's message on a thread, with the thread's earlier turns.
public struct RunInput: Sendable, Equatable, Codable {
    public var runID: String
    public var threadID: String
    public var userID: String
    public var message: String
    /// The id the client gave its message, echoed so it can match the run to what it sent.
    public var clientMessageID: String?
    /// Earlier turns of the thread, oldest first.
    public var history: [ConversationTurn]
    /// Tools the client runs itself, offered to the model besides the worker's own; a call to one ends the run.
    public var clientTools: [ToolSpec]
    /// The results of the client tools the previous run handed over: this run continues from them, not a message.
    public var toolResults: [ClientToolResult]

    public init(
        runID: String,
        threadID: String,
        userID: String,
        message: String,
        clientMessageID: String? = nil,
        history: [ConversationTurn] = [],
        clientTools: [ToolSpec] = [],
        toolResults: [ClientToolResult] = []
    ) {
        self.runID = runID
        self.threadID = threadID
        self.userID = userID
        self.message = message
        self.clientMessageID = clientMessageID
        self.history = history
        self.clientTools = clientTools
        self.toolResults = toolResults
    }

    public init(request: RunRequest, history: [ConversationTurn]) {
        self.init(
            runID: request.runID,
            threadID: request.threadID,
            userID: request.userID,
            message: request.content,
            clientMessageID: request.clientMessageID,
            history: history,
            clientTools: request.clientTools ?? [],
            toolResults: request.toolResults ?? []
        )
    }

    /// What the supervisor's `agent_started` says was asked: the user's message; nothing for a run that continues
    /// from client tools' results.
    public var startedInput: EventPayload.AgentStarted.Input? {
        toolResults.isEmpty ? .init(content: message, clientMessageID: clientMessageID) : nil
    }

    /// The turns this run adds to the conversation before its answer: the user's message, or the client's results.
    public var openingTurns: [ConversationTurn] {
        if toolResults.isEmpty { return [ConversationTurn(role: .user, content: message)] }
        return toolResults.map { ConversationTurn(role: .tool, content: $0.content, toolCallID: $0.toolCallID) }
    }
}
