import HeraldCore

/// What a run is asked to do: the user's message on a thread, with the thread's earlier turns.
public struct RunInput: Sendable, Equatable {
    public var runID: String
    public var threadID: String
    public var userID: String
    public var message: String
    /// Earlier turns of the thread, oldest first.
    public var history: [ConversationTurn]

    public init(runID: String, threadID: String, userID: String, message: String, history: [ConversationTurn] = []) {
        self.runID = runID
        self.threadID = threadID
        self.userID = userID
        self.message = message
        self.history = history
    }

    public init(request: RunRequest, history: [ConversationTurn]) {
        self.init(runID: request.runID, threadID: request.threadID, userID: request.userID, message: request.content, history: history)
    }
}
