import Foundation
import HeraldCore
import HeraldProtocol

/// What the supervisor's run produced.
public struct SupervisorResult: Sendable, Equatable {
    public var report: String
    public var toolCalls: Int
    /// The turns to keep when the run handed client tool calls over (empty when it answered).
    public var handoverTurns: [ConversationTurn] = []
}

/// The agent every run opens with: runs `triage`, `assistant` and `reporting` in turn through an
/// `AgentRunner`. Its own `agent_started` and terminal event are the engine's to emit.
public struct Supervisor: Sendable {
    public let name = AgentName.supervisor
    private let runner: AgentRunner
    private let triage: TriageAgent
    private let assistant: AssistantAgent
    private let reporting: ReportingAgent

    public init(sink: any EventSink, model: any LanguageModel, tools: ToolRegistry, configuration: EngineConfiguration) {
        self.runner = AgentRunner(sink: sink, parent: AgentName.supervisor)
        self.triage = TriageAgent(sink: sink, tools: tools, model: model, prompt: configuration.triagePrompt)
        self.assistant = AssistantAgent(sink: sink, model: model, tools: tools, configuration: configuration)
        self.reporting = ReportingAgent(sink: sink, model: model, prompt: configuration.reportingPrompt)
    }

    public func run(in run: RunContext) async throws -> SupervisorResult {
        let plan = try await runner.execute(triage, run.input, in: run)
        let answer = try await runner.execute(assistant, plan, in: run)
        return try await report(answer, in: run)
    }

    /// Continues a run that paused in the assistant, once its approval was decided.
    public func resume(_ paused: PausedRun, after verdict: ApprovalVerdict, in run: RunContext) async throws -> SupervisorResult {
        let startedAt = HeraldTimestamp.parse(paused.assistantStartedAt) ?? Date()
        let answer = try await runner.resume(assistant, startedAt: startedAt, in: run) {
            try await assistant.resume(paused.assistant, after: verdict, in: run)
        }
        return try await report(answer, in: run)
    }

    private func report(_ answer: AssistantAnswer, in run: RunContext) async throws -> SupervisorResult {
        let report = try await runner.execute(reporting, answer, in: run)
        return SupervisorResult(report: report, toolCalls: answer.toolOutcomes.count + answer.handedOver.count, handoverTurns: answer.handoverTurns)
    }
}
