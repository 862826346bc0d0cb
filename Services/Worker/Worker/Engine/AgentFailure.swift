import HeraldProtocol

/// An agent failed; the engine reports it as `agent_error` with this code.
public struct AgentFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: AgentErrorCode
    public var message: String
    public var retryable: Bool

    public init(_ code: AgentErrorCode, _ message: String, retryable: Bool) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The failure an error stands for: model errors are `llm_unavailable`, anything unforeseen `internal`.
    init(describing error: any Error) {
        switch error {
        case let failure as AgentFailure:
            self = failure
        case let model as ModelError:
            self.init(.llmUnavailable, "the language model is unavailable: \(model.message)", retryable: model.retryable)
        default:
            self.init(.internal, "unexpected error: \(error)", retryable: false)
        }
    }
}
