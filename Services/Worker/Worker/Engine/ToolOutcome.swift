import HeraldProtocol

/// How one tool call ended, as its `tool_completed` event said.
public struct ToolOutcome: Sendable, Equatable, Codable {
    public var call: ModelToolCall
    public var status: ToolStatus
    public var result: JSONValue?
    public var error: String?
    public var durationMs: Int
    /// What the model is told besides the outcome: how a person decided on the call (edited arguments, a reason).
    public var approvalNote: String?

    public init(call: ModelToolCall, status: ToolStatus, result: JSONValue? = nil, error: String? = nil, durationMs: Int) {
        self.call = call
        self.status = status
        self.result = result
        self.error = error
        self.durationMs = durationMs
    }

    /// The tool message the model reads: the result's JSON, or `{"error":…,"status":…}`.
    public var modelContent: String {
        if status == .success {
            guard let approvalNote else { return (result ?? .null).jsonString() }
            return JSONValue.object(["result": result ?? .null, "approval": .string(approvalNote)]).jsonString()
        }
        var object: [String: JSONValue] = ["error": .string(error ?? status.rawValue), "status": .string(status.rawValue)]
        if let approvalNote { object["approval"] = .string(approvalNote) }
        return JSONValue.object(object).jsonString()
    }
}
