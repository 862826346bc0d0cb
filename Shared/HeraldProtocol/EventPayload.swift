/// The type-specific part of an event (DESIGN.md section 4).
public enum EventPayload: Sendable, Equatable {
    case agentStarted(AgentStarted)
    case agentThinking(AgentThinking)
    case toolExecuting(ToolExecuting)
    case toolCompleted(ToolCompleted)
    case approvalRequested(ApprovalRequested)
    case approvalResolved(ApprovalResolved)
    case partialResult(PartialResult)
    case finalReport(FinalReport)
    case agentCompleted(AgentCompleted)
    case agentError(AgentError)

    public var type: EventType {
        switch self {
        case .agentStarted: .agentStarted
        case .agentThinking: .agentThinking
        case .toolExecuting: .toolExecuting
        case .toolCompleted: .toolCompleted
        case .approvalRequested: .approvalRequested
        case .approvalResolved: .approvalResolved
        case .partialResult: .partialResult
        case .finalReport: .finalReport
        case .agentCompleted: .agentCompleted
        case .agentError: .agentError
        }
    }

    /// An agent began work.
    public struct AgentStarted: Sendable, Equatable, Codable {
        public var agentName: String
        public var parentAgent: String?
        public var attempt: Int
        /// The supervisor's only: what the user asked, so every tab and device shows it.
        public var input: Input?
        public init(agentName: String, parentAgent: String? = nil, attempt: Int = 1, input: Input? = nil) {
            self.agentName = agentName
            self.parentAgent = parentAgent
            self.attempt = attempt
            self.input = input
        }
        enum CodingKeys: String, CodingKey {
            case agentName = "agent_name"
            case parentAgent = "parent_agent"
            case attempt
            case input
        }

        /// The user's message that started the run.
        public struct Input: Sendable, Equatable, Codable {
            public var content: String
            public var clientMessageID: String?
            public init(content: String, clientMessageID: String? = nil) {
                self.content = content
                self.clientMessageID = clientMessageID
            }
            enum CodingKeys: String, CodingKey {
                case content
                case clientMessageID = "client_msg_id"
            }
        }
    }

    /// An agent says what it is about to do.
    public struct AgentThinking: Sendable, Equatable, Codable {
        public var thought: String
        public var stepNumber: Int?
        public var totalSteps: Int?
        public init(thought: String, stepNumber: Int? = nil, totalSteps: Int? = nil) {
            self.thought = thought
            self.stepNumber = stepNumber
            self.totalSteps = totalSteps
        }
        enum CodingKeys: String, CodingKey {
            case thought
            case stepNumber = "step_number"
            case totalSteps = "total_steps"
        }
    }

    /// A tool call began.
    public struct ToolExecuting: Sendable, Equatable, Codable {
        public var toolCallID: String
        public var toolName: String
        public var arguments: JSONValue
        public init(toolCallID: String, toolName: String, arguments: JSONValue) {
            self.toolCallID = toolCallID
            self.toolName = toolName
            self.arguments = arguments
        }
        enum CodingKeys: String, CodingKey {
            case toolCallID = "tool_call_id"
            case toolName = "tool_name"
            case arguments
        }
    }

    /// A tool call ended, whatever the outcome.
    public struct ToolCompleted: Sendable, Equatable, Codable {
        public var toolCallID: String
        public var toolName: String
        public var status: ToolStatus
        public var result: JSONValue?
        public var error: String?
        public var durationMs: Int
        public init(toolCallID: String, toolName: String, status: ToolStatus, result: JSONValue? = nil, error: String? = nil, durationMs: Int) {
            self.toolCallID = toolCallID
            self.toolName = toolName
            self.status = status
            self.result = result
            self.error = error
            self.durationMs = durationMs
        }
        enum CodingKeys: String, CodingKey {
            case toolCallID = "tool_call_id"
            case toolName = "tool_name"
            case status
            case result
            case error
            case durationMs = "duration_ms"
        }
    }

    /// A tool call waits for a person's decision; the run is paused until it comes (DESIGN.md section 10).
    public struct ApprovalRequested: Sendable, Equatable, Codable {
        public var approvalID: String
        public var toolCallID: String
        public var toolName: String
        public var arguments: JSONValue
        /// When the request expires unanswered (ISO 8601).
        public var expiresAt: String
        public init(approvalID: String, toolCallID: String, toolName: String, arguments: JSONValue, expiresAt: String) {
            self.approvalID = approvalID
            self.toolCallID = toolCallID
            self.toolName = toolName
            self.arguments = arguments
            self.expiresAt = expiresAt
        }
        enum CodingKeys: String, CodingKey {
            case approvalID = "approval_id"
            case toolCallID = "tool_call_id"
            case toolName = "tool_name"
            case arguments
            case expiresAt = "expires_at"
        }
    }

    /// The decision on an approval request: the first one taken, whoever took it.
    public struct ApprovalResolved: Sendable, Equatable, Codable {
        public var approvalID: String
        public var toolCallID: String
        public var decision: ApprovalDecision
        /// The arguments the tool runs with: as requested, or as the person edited them.
        public var arguments: JSONValue
        /// The user who decided; absent when the request expired or the run was cancelled.
        public var decidedBy: String?
        public var reason: String?
        public init(
            approvalID: String,
            toolCallID: String,
            decision: ApprovalDecision,
            arguments: JSONValue,
            decidedBy: String? = nil,
            reason: String? = nil
        ) {
            self.approvalID = approvalID
            self.toolCallID = toolCallID
            self.decision = decision
            self.arguments = arguments
            self.decidedBy = decidedBy
            self.reason = reason
        }
        enum CodingKeys: String, CodingKey {
            case approvalID = "approval_id"
            case toolCallID = "tool_call_id"
            case decision
            case arguments
            case decidedBy = "decided_by"
            case reason
        }
    }

    /// New text of the streamed answer (only the new part).
    public struct PartialResult: Sendable, Equatable, Codable {
        public var content: String
        public var isComplete: Bool
        public init(content: String, isComplete: Bool) {
            self.content = content
            self.isComplete = isComplete
        }
        enum CodingKeys: String, CodingKey {
            case content
            case isComplete = "is_complete"
        }
    }

    /// The whole answer of a run.
    public struct FinalReport: Sendable, Equatable, Codable {
        public var report: String
        public var totalDurationMs: Int
        public var usage: JSONValue?
        public init(report: String, totalDurationMs: Int, usage: JSONValue? = nil) {
            self.report = report
            self.totalDurationMs = totalDurationMs
            self.usage = usage
        }
        enum CodingKeys: String, CodingKey {
            case report
            case totalDurationMs = "total_duration_ms"
            case usage
        }
    }

    /// An agent finished (successfully or because it was cancelled).
    public struct AgentCompleted: Sendable, Equatable, Codable {
        public var agentName: String
        public var status: AgentCompletionStatus
        public var durationMs: Int
        public var result: JSONValue?
        public init(agentName: String, status: AgentCompletionStatus, durationMs: Int, result: JSONValue? = nil) {
            self.agentName = agentName
            self.status = status
            self.durationMs = durationMs
            self.result = result
        }
        enum CodingKeys: String, CodingKey {
            case agentName = "agent_name"
            case status
            case durationMs = "duration_ms"
            case result
        }
    }

    /// An agent failed.
    public struct AgentError: Sendable, Equatable, Codable {
        public var agentName: String
        public var code: AgentErrorCode
        public var message: String
        public var retryable: Bool
        public init(agentName: String, code: AgentErrorCode, message: String, retryable: Bool) {
            self.agentName = agentName
            self.code = code
            self.message = message
            self.retryable = retryable
        }
        enum CodingKeys: String, CodingKey {
            case agentName = "agent_name"
            case code
            case message
            case retryable
        }
    }
}

/// How a call of a client tool (an AG-UI front-end tool) shows in Herald's events: paired like any call (run rule 3),
/// with this result, while the client runs it; the client's next request carries what it returned.
public enum ClientToolHandover {
    public static let result: JSONValue = ["handed_to_client": true]
}
