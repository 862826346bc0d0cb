/// What of a run is still open after the events seen so far: started agents not yet closed and
/// tool calls not yet completed. Used to close a run properly when its worker is gone.
public struct RunProgress: Sendable, Equatable {
    /// A tool call that began and has not completed.
    public struct OpenToolCall: Sendable, Equatable {
        public var toolCallID: String
        public var toolName: String
        public var agentName: String
        /// How a person decided on the call, when it waited for approval: a call not approved closes as decided.
        public var decision: ApprovalDecision?

        /// How the call closes when the run is closed for it (rule 10: `denied` unless approved).
        var closingStatus: ToolStatus {
            switch decision {
            case .denied?, .expired?: .denied
            case .cancelled?: .cancelled
            case .approved?, nil: .error
            }
        }
    }

    public private(set) var started = false
    public private(set) var ended = false
    /// Open agents, outermost first.
    public private(set) var openAgents: [String] = []
    public private(set) var openToolCalls: [OpenToolCall] = []

    public init() {}

    /// Takes the run as ended (its terminal event was published), whatever else was seen of it.
    public mutating func markEnded() {
        started = true
        ended = true
    }

    public mutating func apply(_ event: AgentEvent) {
        switch event.payload {
        case .agentStarted(let started):
            self.started = true
            openAgents.append(started.agentName)
        case .toolExecuting(let tool):
            openToolCalls.append(OpenToolCall(toolCallID: tool.toolCallID, toolName: tool.toolName, agentName: event.agentName))
        case .toolCompleted(let tool):
            openToolCalls.removeAll { $0.toolCallID == tool.toolCallID }
        case .agentCompleted, .agentError:
            if let index = openAgents.lastIndex(of: event.agentName) {
                openAgents.removeSubrange(index...)
            }
            if event.isRunTerminal { ended = true }
        case .approvalResolved(let resolution):
            if let index = openToolCalls.firstIndex(where: { $0.toolCallID == resolution.toolCallID }) {
                openToolCalls[index].decision = resolution.decision
            }
        case .agentThinking, .partialResult, .finalReport, .approvalRequested:
            break
        }
    }

    /// The events that close everything still open, innermost first, ending with the supervisor's
    /// `agent_error`: open tool calls fail, open agents fail with `code`. A run that never started
    /// gets the supervisor's `agent_started` first, so even it obeys the run rules.
    /// `input` is what the user asked, for the supervisor's `agent_started` when the run never started.
    public func closingEvents(
        threadID: String,
        runID: String,
        code: AgentErrorCode,
        message: String,
        retryable: Bool,
        input: EventPayload.AgentStarted.Input? = nil
    ) -> [AgentEvent] {
        guard !ended else { return [] }
        var events: [AgentEvent] = []
        func add(_ agent: String, _ payload: EventPayload) {
            events.append(AgentEvent(threadID: threadID, runID: runID, agentName: agent, payload: payload))
        }
        var agents = openAgents
        if !started || agents.first != AgentName.supervisor {
            add(AgentName.supervisor, .agentStarted(.init(agentName: AgentName.supervisor, input: input)))
            agents = [AgentName.supervisor]
        }
        for agent in agents.reversed() {
            for call in openToolCalls.reversed() where call.agentName == agent {
                add(
                    agent,
                    .toolCompleted(
                        .init(toolCallID: call.toolCallID, toolName: call.toolName, status: call.closingStatus, error: message, durationMs: 0)
                    )
                )
            }
            add(agent, .agentError(.init(agentName: agent, code: code, message: message, retryable: retryable)))
        }
        return events
    }
}
