import Logging

/// What a tool knows about the call it serves.
public struct ToolContext: Sendable {
    public var runID: String
    public var threadID: String
    public var toolCallID: String
    public var logger: Logger

    public init(runID: String, threadID: String, toolCallID: String, logger: Logger) {
        self.runID = runID
        self.threadID = threadID
        self.toolCallID = toolCallID
        self.logger = logger
    }
}
