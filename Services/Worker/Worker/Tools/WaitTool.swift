import HeraldProtocol

/// Waits the given number of seconds (at most 300); cancelling the run ends the wait at once.
public struct WaitTool: Tool {
    /// The longest wait one call may ask for.
    public static let maximumSeconds = 300.0

    public let name = "wait"
    public let description = "Waits the given number of seconds (0 to 300) before answering; useful to pause between steps."
    public let parameters: JSONValue = [
        "type": "object",
        "properties": [
            "seconds": [
                "type": "number",
                "minimum": 0,
                "maximum": .number(WaitTool.maximumSeconds),
                "description": "How long to wait, in seconds",
            ]
        ],
        "required": ["seconds"],
        "additionalProperties": false,
    ]
    /// The longest wait plus a margin, so a full 300 s wait is not cut short by the default timeout.
    public let timeout: Duration? = .seconds(WaitTool.maximumSeconds + 10)

    public init() {}

    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard let seconds = try arguments.numberArgument("seconds") else {
            throw ToolError("argument 'seconds' is required")
        }
        guard seconds.isFinite, seconds >= 0, seconds <= Self.maximumSeconds else {
            throw ToolError("seconds must be between 0 and \(NumberText.format(Self.maximumSeconds)), not \(NumberText.format(seconds))")
        }
        // Task.sleep throws CancellationError as soon as the run is cancelled or the call times out.
        try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded())))
        return ["waited_seconds": .number(seconds)]
    }
}
