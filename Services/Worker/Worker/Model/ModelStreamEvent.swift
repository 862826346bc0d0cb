import HeraldProtocol

/// A complete tool call from the model.
public struct ModelToolCall: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    /// The arguments as JSON text, exactly as the model wrote them (it may not be valid JSON).
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// What a model stream yields.
public enum ModelStreamEvent: Sendable, Equatable {
    /// New text of the answer (only the new part).
    case textDelta(String)
    /// A tool call, once its arguments are complete.
    case toolCall(ModelToolCall)
    case usage(ModelUsage)
    case finish(ModelFinishReason)
}

/// Tokens a request used.
public struct ModelUsage: Sendable, Equatable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
    }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    public static let zero = ModelUsage(promptTokens: 0, completionTokens: 0)

    public static func + (lhs: ModelUsage, rhs: ModelUsage) -> ModelUsage {
        ModelUsage(promptTokens: lhs.promptTokens + rhs.promptTokens, completionTokens: lhs.completionTokens + rhs.completionTokens)
    }

    public var json: JSONValue {
        [
            "prompt_tokens": .number(Double(promptTokens)), "completion_tokens": .number(Double(completionTokens)),
            "total_tokens": .number(Double(totalTokens)),
        ]
    }
}

/// Why the model stopped.
public enum ModelFinishReason: String, Sendable, Equatable {
    case stop
    case toolCalls = "tool_calls"
    case length
    case contentFilter = "content_filter"
}
