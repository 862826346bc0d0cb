import HeraldProtocol

/// A thread as the threads API shows it (DESIGN.md section 9, `THREAD`).
struct ThreadSummary: Codable, Sendable, Equatable {
    var threadID: String
    var title: String
    var createdAt: String
    var updatedAt: String
    /// Present only while a run is active.
    var activeRunID: String?
    var preview: String

    enum CodingKeys: String, CodingKey {
        case threadID = "thread_id"
        case title
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case activeRunID = "active_run_id"
        case preview
    }
}

/// One message of a thread (DESIGN.md section 9, `MESSAGE`): a run's user message, or its whole answer.
struct ThreadMessage: Codable, Sendable, Equatable {
    enum Role: String, Codable, Sendable { case user, assistant }
    enum Status: String, Codable, Sendable { case complete, cancelled, error, streaming }

    var messageID: String
    var runID: String
    var role: Role
    var content: String
    var createdAt: String
    /// The assistant's only.
    var status: Status?
    /// The assistant's only, when the run called tools.
    var toolCalls: [ToolCall]?

    enum CodingKeys: String, CodingKey {
        case messageID = "message_id"
        case runID = "run_id"
        case role, content
        case createdAt = "created_at"
        case status
        case toolCalls = "tool_calls"
    }

    /// A tool call of the run and how it ended (`running` until it does).
    struct ToolCall: Codable, Sendable, Equatable {
        var toolCallID: String
        var toolName: String
        var arguments: JSONValue
        var status: String
        var result: JSONValue?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case toolCallID = "tool_call_id"
            case toolName = "tool_name"
            case arguments, status, result, error
        }
    }
}

/// A page of threads, newest first.
struct ThreadPage: Codable, Sendable, Equatable {
    var threads: [ThreadSummary]
    var nextCursor: String?
    enum CodingKeys: String, CodingKey {
        case threads
        case nextCursor = "next_cursor"
    }
}

/// A page of messages: the newest page first, oldest first within it.
struct MessagePage: Codable, Sendable, Equatable {
    var messages: [ThreadMessage]
    var nextCursor: String?
    enum CodingKeys: String, CodingKey {
        case messages
        case nextCursor = "next_cursor"
    }
}
