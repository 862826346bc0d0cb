import HeraldProtocol

/// How one tool call ended, as its `tool_completed` event said.
public struct ToolOutcome: Sendable, Equatable {
    public var call: ModelToolCall
    public var status: ToolStatus
    public var result: JSONValue?
    public var error: String?
    public var durationMs: Int

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
            return (result ?? .null).jsonString()
        }
        return JSONValue.object(["error": .string(error ?? status.rawValue), "status": .string(status.rawValue)]).jsonString()
    }
}
