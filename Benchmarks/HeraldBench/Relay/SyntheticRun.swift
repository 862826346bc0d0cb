import HeraldProtocol

/// A run's events shaped like the offline model's answer to an arithmetic question: supervisor, triage,
/// assistant with one calculator call and a streamed answer, reporting with the final report — 15
/// events that obey every run rule.
enum SyntheticRun {
    static let eventsPerRun = 15

    static func events(threadID: String, runID: String, timestamp: String = HeraldTimestamp.now()) -> [AgentEvent] {
        let supervisor = AgentName.supervisor
        let toolCall = "call_\(runID.suffix(12))"
        func event(_ agent: String, _ payload: EventPayload) -> AgentEvent {
            AgentEvent(threadID: threadID, runID: runID, agentName: agent, timestamp: timestamp, payload: payload)
        }
        return [
            event(supervisor, .agentStarted(.init(agentName: supervisor))),
            event("triage", .agentStarted(.init(agentName: "triage", parentAgent: supervisor))),
            event("triage", .agentThinking(.init(thought: "The request needs the calculator.", stepNumber: 1, totalSteps: 1))),
            event("triage", .agentCompleted(.init(agentName: "triage", status: .success, durationMs: 0))),
            event("assistant", .agentStarted(.init(agentName: "assistant", parentAgent: supervisor))),
            event("assistant", .agentThinking(.init(thought: "Calling calculator.", stepNumber: 1, totalSteps: 2))),
            event(
                "assistant",
                .toolExecuting(.init(toolCallID: toolCall, toolName: "calculator", arguments: .object(["expression": .string("(17*3)+4")])))
            ),
            event(
                "assistant",
                .toolCompleted(
                    .init(toolCallID: toolCall, toolName: "calculator", status: .success, result: .object(["value": .number(55)]), durationMs: 0)
                )
            ),
            event("assistant", .partialResult(.init(content: "(17*3)+4", isComplete: false))),
            event("assistant", .partialResult(.init(content: " = 55.", isComplete: true))),
            event("assistant", .agentCompleted(.init(agentName: "assistant", status: .success, durationMs: 1))),
            event("reporting", .agentStarted(.init(agentName: "reporting", parentAgent: supervisor))),
            event("reporting", .finalReport(.init(report: "(17*3)+4 = 55.", totalDurationMs: 2))),
            event("reporting", .agentCompleted(.init(agentName: "reporting", status: .success, durationMs: 0))),
            event(supervisor, .agentCompleted(.init(agentName: supervisor, status: .success, durationMs: 2))),
        ]
    }
}
