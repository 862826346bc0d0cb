import HeraldProtocol

/// A sub-agent of the supervisor: one step of a run, with a name its events carry.
///
/// Conforming types take the event sink in their initialiser and keep it in a `let` (run rule 9);
/// the engine's `AgentRunner` emits their `agent_started` and the one event that closes them.
public protocol Agent: Sendable {
    associatedtype Input: Sendable
    associatedtype Output: Sendable

    var name: String { get }

    func run(_ input: Input, in run: RunContext) async throws -> Output

    /// What the agent's `agent_completed` carries as `result`.
    func summary(of output: Output) -> JSONValue?
}

extension Agent {
    public func summary(of output: Output) -> JSONValue? { nil }
}
