/// The kinds of event a run emits (DESIGN.md section 4).
public enum EventType: String, Sendable, Codable, CaseIterable {
    case agentStarted = "agent_started"
    case agentThinking = "agent_thinking"
    case toolExecuting = "tool_executing"
    case toolCompleted = "tool_completed"
    case approvalRequested = "approval_requested"
    case approvalResolved = "approval_resolved"
    case partialResult = "partial_result"
    case finalReport = "final_report"
    case agentCompleted = "agent_completed"
    case agentError = "agent_error"

    /// Whether the event opens or closes an agent or a tool call, or decides how an open call may close (an approval's
    /// decision): what `RunProgress` needs to close a run whose worker died. A run's outline is these events alone,
    /// so it stays small however long the answer streams.
    public var opensOrCloses: Bool {
        switch self {
        case .agentStarted, .toolExecuting, .toolCompleted, .agentCompleted, .agentError, .approvalResolved: true
        case .agentThinking, .partialResult, .finalReport, .approvalRequested: false
        }
    }
}

/// How a tool call ended.
public enum ToolStatus: String, Sendable, Codable {
    case success, error, timeout, cancelled
    /// A person denied the call, or did not decide in time: the tool did not run.
    case denied
}

/// How an approval request was resolved (`approval_resolved`).
public enum ApprovalDecision: String, Sendable, Codable {
    case approved, denied, expired, cancelled

    /// Whether the tool runs.
    public var letsToolRun: Bool { self == .approved }
}

/// How an agent ended without an error.
public enum AgentCompletionStatus: String, Sendable, Codable {
    case success, cancelled
}

/// `agent_error` codes (DESIGN.md section 4).
public enum AgentErrorCode: String, Sendable, Codable {
    case llmUnavailable = "llm_unavailable"
    case toolFailed = "tool_failed"
    case workerLost = "worker_lost"
    case timeout
    case cancelled
    case `internal`
}

/// Well-known agent names.
public enum AgentName {
    /// The agent whose `agent_started` opens every run and whose terminal event ends it.
    public static let supervisor = "supervisor"
}
