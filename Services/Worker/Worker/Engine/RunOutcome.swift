import HeraldCore
import HeraldProtocol

/// How a run ended, as its terminal event said.
public enum RunOutcome: Sendable, Equatable {
    /// The supervisor completed with status `success`; `report` is the final report.
    case completed(report: String)
    /// The supervisor completed with status `success` after the model called client tools, which the client runs:
    /// `turns` are what the conversation keeps so the client's next request continues the run.
    case handedToClient(report: String, turns: [ConversationTurn])
    /// The run paused for a person's approval (`approval_requested` is out); any worker continues it once decided.
    case paused(approvalID: String)
    /// The supervisor completed with status `cancelled`.
    case cancelled
    /// The supervisor ended with `agent_error`.
    case failed(code: AgentErrorCode, message: String)
    /// Events could not be delivered even after retrying, so the run's end was not announced;
    /// the run lease lapses and the watchdog reports the run lost.
    case eventsLost(message: String)

    /// A short label for logs and metrics: `completed`, `cancelled`, the error code, or `events_lost`.
    public var label: String {
        switch self {
        case .completed: "completed"
        case .handedToClient: "handed_to_client"
        case .paused: "paused"
        case .cancelled: "cancelled"
        case .failed(let code, _): code.rawValue
        case .eventsLost: "events_lost"
        }
    }
}
