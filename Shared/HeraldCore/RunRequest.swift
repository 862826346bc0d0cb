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

    public init(runID: String, threadID: String, userID: String, content: String, clientMessageID: String? = nil, enqueuedAt: String = HeraldTimestamp.now()) {
        self.runID = runID
        self.threadID = threadID
        self.userID = userID
        self.content = content
        self.clientMessageID = clientMessageID
        self.enqueuedAt = enqueuedAt
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case threadID = "thread_id"
        case userID = "user_id"
        case content
        case clientMessageID = "client_msg_id"
        case enqueuedAt = "enqueued_at"
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

/// One turn of a thread's conversation, kept so later runs see earlier ones.
public struct ConversationTurn: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case user, assistant }
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}
