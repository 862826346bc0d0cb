import Foundation
import HeraldProtocol

/// The fields of a thread's record (`RedisKeys.thread`): the gateway writes them when a run is submitted or the
/// thread renamed, the relay its preview when a run starts and ends.
public enum ThreadRecord {
    /// Field names, in one place for every service and script.
    public enum Field {
        public static let owner = "owner"
        public static let createdAt = "created_at"
        public static let title = "title"
        /// When the latest message was sent: what orders its owner's list (renaming does not move it).
        public static let updatedAt = "updated_at"
        /// The start of the latest message.
        public static let preview = "preview"
    }

    /// The most characters of a title; a longer one is refused (a rename) or shortened (the first message's).
    public static let maxTitleCharacters = 200
    /// The most characters of a preview.
    public static let previewCharacters = 160

    /// The title a new thread gets from its first message: its first line, shortened to 80 characters.
    public static func title(fromFirstMessage content: String) -> String {
        let line = content.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return "New chat" }
        return trimmed.count > 80 ? String(trimmed.prefix(79)) + "…" : trimmed
    }

    /// A preview of `content`: whitespace collapsed, at most `previewCharacters`.
    public static func preview(of content: String) -> String {
        let collapsed = content.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        return collapsed.count > previewCharacters ? String(collapsed.prefix(previewCharacters - 1)) + "…" : collapsed
    }
}

/// What the relay keeps of each run in a thread's messages hash (`RedisKeys.threadMessages`), so a conversation is
/// whole however many events streamed it and however long ago the history was trimmed.
///
/// Each run has fixed fields (`user`, `text`, `end`, `calls`) and two per tool call; the gateway assembles the
/// run's user and assistant messages from them.
public enum MessageRecord {
    /// The field names of run `runID`'s parts: the run id, then a suffix (`Suffix`, which the scripts use).
    public enum Field {
        /// `UserPart` JSON: the user's message and when the run started.
        public static func user(_ runID: String) -> String { runID + Suffix.user }
        /// The whole answer text, once the run has ended (while it streams it is in `RedisKeys.threadAnswerText`).
        public static func text(_ runID: String) -> String { runID + Suffix.text }
        /// The model's token usage (JSON), when the final report carried it.
        public static func usage(_ runID: String) -> String { runID + Suffix.usage }
        /// `EndPart` JSON, once the run has ended.
        public static func end(_ runID: String) -> String { runID + Suffix.end }
        /// The run's tool call ids in order, each followed by a space.
        public static func calls(_ runID: String) -> String { runID + Suffix.calls }
        /// `ToolCallPart` JSON.
        public static func call(_ runID: String, _ toolCallID: String) -> String { runID + Suffix.call + toolCallID }
        /// `ToolDonePart` JSON.
        public static func done(_ runID: String, _ toolCallID: String) -> String { runID + Suffix.done + toolCallID }

        /// What follows the run id in each field's name (a tool call's id follows `call` and `done`).
        public enum Suffix {
            public static let user = ":user"
            public static let text = ":text"
            public static let usage = ":usage"
            public static let end = ":end"
            public static let calls = ":calls"
            public static let call = ":call:"
            public static let done = ":done:"
        }
    }

    /// The user's message of a run (no `content` for a run that continues from client tools' results) and when the
    /// run started.
    public struct UserPart: Codable, Sendable, Equatable {
        public var content: String?
        public var clientMessageID: String?
        public var createdAt: String
        public init(content: String?, clientMessageID: String?, createdAt: String) {
            self.content = content
            self.clientMessageID = clientMessageID
            self.createdAt = createdAt
        }
        enum CodingKeys: String, CodingKey {
            case content
            case clientMessageID = "client_msg_id"
            case createdAt = "created_at"
        }
    }

    /// A tool call as it began: what its `tool_executing` said.
    public typealias ToolCallPart = EventPayload.ToolExecuting

    /// How a tool call ended.
    public struct ToolDonePart: Codable, Sendable, Equatable {
        public var status: String
        public var result: JSONValue?
        public var error: String?
        public init(status: String, result: JSONValue?, error: String?) {
            self.status = status
            self.result = result
            self.error = error
        }
    }

    /// How the run ended: the assistant message's status (`complete`, `cancelled`, `error`), when, and the error of a
    /// failed run.
    public struct EndPart: Codable, Sendable, Equatable {
        public var status: String
        public var completedAt: String
        public var errorCode: String?
        public var errorMessage: String?
        public var retryable: Bool?
        public init(status: String, completedAt: String, errorCode: String? = nil, errorMessage: String? = nil, retryable: Bool? = nil) {
            self.status = status
            self.completedAt = completedAt
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.retryable = retryable
        }
        enum CodingKeys: String, CodingKey {
            case status
            case completedAt = "completed_at"
            case errorCode = "error_code"
            case errorMessage = "error_message"
            case retryable
        }
    }

    /// Compact JSON of a part, as stored.
    public static func encode(_ part: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // The parts hold strings and JSON values only, which always encode.
        return String(decoding: (try? encoder.encode(part)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
