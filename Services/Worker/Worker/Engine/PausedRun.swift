import Foundation
import HeraldCore
import HeraldProtocol

/// A run paused for a person's approval, with what it needs to continue on any worker (DESIGN.md section 10): kept
/// in Redis while no worker holds the run.
public struct PausedRun: Sendable, Equatable, Codable {
    /// The request, without the thread's earlier turns (the assistant's messages hold what it needs of them).
    public var input: RunInput
    /// When the run started (ISO 8601), so its duration counts from then on whichever worker ends it.
    public var startedAt: String
    /// When the assistant, the agent whose call waits, started.
    public var assistantStartedAt: String
    /// Where the assistant's tool loop stands: the waiting call is the first of its pending calls.
    public var assistant: AssistantProgress
    /// The request a person answers.
    public var approval: ApprovalRequest

    /// The approval request of a paused run.
    public struct ApprovalRequest: Sendable, Equatable, Codable {
        public var approvalID: String
        public var toolCallID: String
        public var toolName: String
        public var agentName: String
        public var arguments: JSONValue
        public var requestedAt: String
        public var expiresAt: String
    }

    public func encodedJSON() -> String {
        String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func decode(_ text: String) throws -> PausedRun {
        try JSONDecoder().decode(PausedRun.self, from: Data(text.utf8))
    }

    /// The `approval_requested` event the run announces as it pauses.
    public var requestEvent: AgentEvent {
        AgentEvent(
            threadID: input.threadID,
            runID: input.runID,
            agentName: approval.agentName,
            payload: .approvalRequested(
                .init(
                    approvalID: approval.approvalID,
                    toolCallID: approval.toolCallID,
                    toolName: approval.toolName,
                    arguments: approval.arguments,
                    expiresAt: approval.expiresAt
                )
            )
        )
    }

    /// The approval's record as the pausing worker writes it.
    public var approvalRecord: ApprovalRecord {
        ApprovalRecord(
            approvalID: approval.approvalID,
            runID: input.runID,
            threadID: input.threadID,
            userID: input.userID,
            toolCallID: approval.toolCallID,
            toolName: approval.toolName,
            agent: approval.agentName,
            arguments: approval.arguments,
            requestedAt: approval.requestedAt,
            expiresAt: approval.expiresAt
        )
    }
}

/// Where a paused run goes: it stores the run, announces `approval_requested` and lets the run go, in one step, so a
/// request is never seen without a run that can continue from it. Given to the engine when it is made.
public protocol RunSuspender: Sendable {
    func suspend(_ run: PausedRun) async throws
}

/// The decision a continued run acts on.
public struct ApprovalVerdict: Sendable, Equatable {
    public var toolCallID: String
    public var decision: ApprovalDecision
    /// What the tool runs with when approved.
    public var arguments: JSONValue
    /// Whether those differ from what the model asked for.
    public var argumentsEdited: Bool
    public var decidedBy: String?
    public var reason: String?

    public init(
        toolCallID: String,
        decision: ApprovalDecision,
        arguments: JSONValue,
        argumentsEdited: Bool = false,
        decidedBy: String? = nil,
        reason: String? = nil
    ) {
        self.toolCallID = toolCallID
        self.decision = decision
        self.arguments = arguments
        self.argumentsEdited = argumentsEdited
        self.decidedBy = decidedBy
        self.reason = reason
    }

    /// The verdict an approval record holds; nil while it is undecided.
    public init?(_ record: ApprovalRecord) {
        guard let decision = record.decision else { return nil }
        let arguments = record.decidedArguments ?? record.arguments
        self.init(
            toolCallID: record.toolCallID,
            decision: decision,
            arguments: arguments,
            argumentsEdited: arguments != record.arguments,
            decidedBy: record.decidedBy,
            reason: record.reason
        )
    }
}

/// Thrown up from the tool call that needs approval to the engine, which suspends the run. Agents pass it on
/// without closing: the run is paused, not ended.
struct RunPaused: Error {
    var toolCall: ModelToolCall
    var arguments: JSONValue
    var agentName: String
    var assistant: AssistantProgress
    /// Set by the agent runner as it passes the pause on: when the waiting agent started.
    var assistantStartedAt: Date?
}
