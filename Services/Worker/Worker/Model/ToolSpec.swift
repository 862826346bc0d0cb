import HeraldProtocol

/// A tool as the model is told about it.
public struct ToolSpec: Sendable, Equatable {
    public var name: String
    public var description: String
    /// JSON schema of the arguments object.
    public var parameters: JSONValue

    public init(name: String, description: String, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}
