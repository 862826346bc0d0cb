import HeraldCore
import HeraldProtocol

/// A capability the language model can call: a name, a description, JSON-schema parameters and an async `run`.
///
/// `run` must honour task cancellation (the dispatcher cancels it when the run is cancelled or the
/// tool's time is up) and report a failure the user should see as a `ToolError`. Any other error
/// means the tool itself is broken, and fails the run with `tool_failed`.
public protocol Tool: Sendable {
    /// The name the model calls the tool by: letters, digits and `_`.
    var name: String { get }
    /// What the tool does, for the model.
    var description: String { get }
    /// A JSON schema of the arguments object.
    var parameters: JSONValue { get }
    /// How long one call may take; nil takes the dispatcher's default (`HERALD_TOOL_TIMEOUT_SECONDS`).
    var timeout: Duration? { get }
    /// Whether a person must approve each call before it runs (DESIGN.md section 10): tools with side effects
    /// the user should see coming. Operators require it of more tools with `HERALD_APPROVAL_TOOLS`.
    var requiresApproval: Bool { get }

    func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue
}

extension Tool {
    public var timeout: Duration? { nil }
    public var requiresApproval: Bool { false }

    /// The tool as the model is told about it.
    public var spec: ToolSpec {
        ToolSpec(name: name, description: description, parameters: parameters)
    }
}
