import HeraldCore

/// One request to a language model: the conversation so far and the tools it may call.
public struct ModelRequest: Sendable, Equatable {
    public var messages: [ModelMessage]
    public var tools: [ToolSpec]

    public init(messages: [ModelMessage], tools: [ToolSpec] = []) {
        self.messages = messages
        self.tools = tools
    }
}

/// A message of the conversation sent to the model.
public struct ModelMessage: Sendable, Equatable, Codable {
    /// Who speaks: the instructions, the user, the model, or a tool's result.
    public enum Role: String, Sendable, Equatable, Codable {
        case system, user, assistant, tool
    }

    public var role: Role
    public var content: String
    /// For `assistant` messages: the tool calls it made.
    public var toolCalls: [ModelToolCall]
    /// For `tool` messages: the call this is the result of.
    public var toolCallID: String?

    public init(role: Role, content: String, toolCalls: [ModelToolCall] = [], toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    public static func system(_ content: String) -> ModelMessage { ModelMessage(role: .system, content: content) }
    public static func user(_ content: String) -> ModelMessage { ModelMessage(role: .user, content: content) }
    public static func assistant(_ content: String, toolCalls: [ModelToolCall] = []) -> ModelMessage {
        ModelMessage(role: .assistant, content: content, toolCalls: toolCalls)
    }
    public static func tool(callID: String, content: String) -> ModelMessage {
        ModelMessage(role: .tool, content: content, toolCallID: callID)
    }
}
