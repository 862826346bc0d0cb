import Foundation
import HeraldProtocol

/// A run as the gateway puts it on the run queue and a worker takes it off.
public struct RunRequest: Sendable, Equatable, Codable {
    public var runID: String
    public var threadID: String
    public var userID: String
    public var content: String
    public var clientMessageID: String?
    /// When the gateway enqueued the run (ISO 8601), for queue-age metrics.
    public var enqueuedAt: String
    /// Tools the client runs itself (AG-UI front-end tools), offered to the model besides the worker's own.
    public var clientTools: [ToolSpec]?
    /// The results of client tools the previous run handed over: this run continues from them (`content` is empty).
    public var toolResults: [ClientToolResult]?
    /// Set when this entry continues a run paused for approval, once the approval was decided: the run's state is
    /// in `RedisKeys.runPaused`, the decision in `RedisKeys.approval`.
    public var approvalID: String?

    public init(
        runID: String,
        threadID: String,
        userID: String,
        content: String,
        clientMessageID: String? = nil,
        enqueuedAt: String = HeraldTimestamp.now(),
        clientTools: [ToolSpec]? = nil,
        toolResults: [ClientToolResult]? = nil,
        approvalID: String? = nil
    ) {
        self.runID = runID
        self.threadID = threadID
        self.userID = userID
        self.content = content
        self.clientMessageID = clientMessageID
        self.enqueuedAt = enqueuedAt
        self.clientTools = clientTools
        self.toolResults = toolResults
        self.approvalID = approvalID
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case threadID = "thread_id"
        case userID = "user_id"
        case content
        case clientMessageID = "client_msg_id"
        case enqueuedAt = "enqueued_at"
        case clientTools = "client_tools"
        case toolResults = "tool_results"
        case approvalID = "approval_id"
    }

    /// The stream field that carries the JSON-encoded request.
    public static let streamField = "run"

    public func encodedJSON() -> String {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode(_ text: String) throws -> RunRequest {
        try JSONDecoder().decode(RunRequest.self, from: Data(text.utf8))
    }
}

/// A tool as the model is told about it: name, description and the JSON schema of its arguments.
///
/// A run request carries the client's own tools (AG-UI front-end tools) as these: the model may call them, and the
/// call is handed to the client, whose next request carries the result.
public struct ToolSpec: Sendable, Equatable, Codable {
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

/// What a client tool returned, for the call the model made.
public struct ClientToolResult: Sendable, Equatable, Codable {
    public var toolCallID: String
    public var content: String

    public init(toolCallID: String, content: String) {
        self.toolCallID = toolCallID
        self.content = content
    }

    enum CodingKeys: String, CodingKey {
        case toolCallID = "tool_call_id"
        case content
    }
}

/// One turn of a thread's conversation, kept so later runs see earlier ones.
public struct ConversationTurn: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case user, assistant, tool }

    /// A tool call an assistant turn made, kept while its result is still to come from the client.
    public struct ToolCall: Sendable, Equatable, Codable {
        public var id: String
        public var name: String
        /// The arguments as the model wrote them (JSON text).
        public var arguments: String

        public init(id: String, name: String, arguments: String) {
            self.id = id
            self.name = name
            self.arguments = arguments
        }
    }

    public var role: Role
    public var content: String
    /// An assistant turn's tool calls (absent for plain answers).
    public var toolCalls: [ToolCall]?
    /// A tool turn's call id.
    public var toolCallID: String?

    public init(role: Role, content: String, toolCalls: [ToolCall]? = nil, toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    enum CodingKeys: String, CodingKey {
        case role, content
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
    }
}
