/// A tool's deliberate failure (bad arguments, division by zero, unknown time zone): the model and
/// the user see the message, and the run goes on.
public struct ToolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
