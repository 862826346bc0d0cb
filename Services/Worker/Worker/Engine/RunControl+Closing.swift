import HeraldProtocol

/// How a stopped run closes its agents.
enum RunStop {
    /// The stop reason when `error` (or the task's state) means the run was stopped, else nil.
    static func classify(_ error: any Error, control: RunControl) async -> RunControl.StopReason? {
        let reason = await control.stopReason
        if error is CancellationError || Task.isCancelled || reason != nil {
            return reason ?? .cancelled
        }
        return nil
    }
}

extension RunControl.StopReason {
    /// The event that closes an open agent stopped for this reason.
    func closing(agent: String, durationMs: Int) -> EventPayload {
        switch self {
        case .cancelled:
            .agentCompleted(.init(agentName: agent, status: .cancelled, durationMs: durationMs))
        case .timeout:
            .agentError(.init(agentName: agent, code: .timeout, message: "the run took longer than its time limit", retryable: true))
        case .shutdown:
            .agentError(
                .init(
                    agentName: agent,
                    code: .cancelled,
                    message: "the worker shut down before the run finished; send the message again",
                    retryable: true
                )
            )
        }
    }
}
