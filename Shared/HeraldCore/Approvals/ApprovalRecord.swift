import Foundation
import HeraldProtocol
import Redis

/// An approval request as Redis keeps it (`RedisKeys.approval`): written by the worker that pauses the run, decided
/// once by whoever answers first (a person through any gateway, the expiry sweep, a cancellation), and read by the
/// worker that continues the run.
public struct ApprovalRecord: Sendable, Equatable {
    /// Field names of the hash.
    public enum Field {
        public static let runID = "run_id"
        public static let threadID = "thread_id"
        public static let userID = "user_id"
        public static let toolCallID = "tool_call_id"
        public static let toolName = "tool_name"
        /// The agent whose tool call it is; `approval_resolved` is that agent's event.
        public static let agent = "agent"
        /// The arguments the model asked for (JSON object).
        public static let arguments = "arguments"
        public static let requestedAt = "requested_at"
        public static let expiresAt = "expires_at"
        /// `pending`, or the decision (`ApprovalDecision`).
        public static let status = "status"
        /// The arguments the tool runs with once decided (JSON object).
        public static let decidedArguments = "decided_arguments"
        public static let decidedBy = "decided_by"
        public static let reason = "reason"
        public static let decidedAt = "decided_at"
    }

    /// `Field.status` while no decision was taken.
    public static let pending = "pending"

    public var approvalID: String
    public var runID: String
    public var threadID: String
    public var userID: String
    public var toolCallID: String
    public var toolName: String
    public var agent: String
    public var arguments: JSONValue
    public var requestedAt: String
    public var expiresAt: String
    /// Nil while pending.
    public var decision: ApprovalDecision?
    public var decidedArguments: JSONValue?
    public var decidedBy: String?
    public var reason: String?
    public var decidedAt: String?

    public init(
        approvalID: String,
        runID: String,
        threadID: String,
        userID: String,
        toolCallID: String,
        toolName: String,
        agent: String,
        arguments: JSONValue,
        requestedAt: String,
        expiresAt: String
    ) {
        self.approvalID = approvalID
        self.runID = runID
        self.threadID = threadID
        self.userID = userID
        self.toolCallID = toolCallID
        self.toolName = toolName
        self.agent = agent
        self.arguments = arguments
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
    }

    /// The hash's fields as the pausing worker writes them.
    public var pendingFields: [String] {
        [
            Field.runID, runID, Field.threadID, threadID, Field.userID, userID, Field.toolCallID, toolCallID, Field.toolName, toolName,
            Field.agent, agent, Field.arguments, arguments.jsonString(), Field.requestedAt, requestedAt, Field.expiresAt, expiresAt,
            Field.status, Self.pending,
        ]
    }

    /// Reads the record of `approvalID`; nil when there is none (never requested, or gone with its thread).
    public static func load(_ approvalID: String, keys: RedisKeys, on redis: some RedisClientProtocol) async throws -> ApprovalRecord? {
        let reply = try await redis.send("HGETALL", keys.approval(approvalID))
        var fields: [String: String] = [:]
        let values = reply.array ?? []
        var index = 0
        while index + 1 < values.count {
            if let name = values[index].string, let value = values[index + 1].string { fields[name] = value }
            index += 2
        }
        return ApprovalRecord(approvalID: approvalID, fields: fields)
    }

    init?(approvalID: String, fields: [String: String]) {
        guard let runID = fields[Field.runID], let threadID = fields[Field.threadID], let userID = fields[Field.userID],
            let toolCallID = fields[Field.toolCallID], let toolName = fields[Field.toolName], let agent = fields[Field.agent],
            let status = fields[Field.status]
        else { return nil }
        self.init(
            approvalID: approvalID,
            runID: runID,
            threadID: threadID,
            userID: userID,
            toolCallID: toolCallID,
            toolName: toolName,
            agent: agent,
            arguments: fields[Field.arguments].flatMap { try? JSONValue.parse($0) } ?? [:],
            requestedAt: fields[Field.requestedAt] ?? "",
            expiresAt: fields[Field.expiresAt] ?? ""
        )
        if status != Self.pending {
            decision = ApprovalDecision(rawValue: status)
            decidedArguments = fields[Field.decidedArguments].flatMap { try? JSONValue.parse($0) }
            decidedBy = fields[Field.decidedBy].flatMap { $0.isEmpty ? nil : $0 }
            reason = fields[Field.reason].flatMap { $0.isEmpty ? nil : $0 }
            decidedAt = fields[Field.decidedAt]
        }
    }
}
