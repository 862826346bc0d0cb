import Logging

/// What a tool knows about the call it serves.
public struct ToolContext: Sendable {
    public var runID: String
    public var threadID: String
    /// The user the run works for: tools that keep things per user (notes) keep them under this id.
    public var userID: String
    public var toolCallID: String
    public var logger: Logger

    public init(runID: String, threadID: String, userID: String, toolCallID: String, logger: Logger) {
        self.runID = runID
        self.threadID = threadID
        self.userID = userID
        self.toolCallID = toolCallID
        self.logger = logger
    }
}
