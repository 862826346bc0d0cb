import Foundation

/// A frame a browser sends to the gateway (DESIGN.md section 3).
public enum ClientMessage: Sendable, Equatable {
    case userMessage(UserMessage)
    case cancelRun(runID: String)
    case resume(Resume)
    case approvalResponse(ApprovalResponse)
    case ping

    /// `{"type":"user_message",…}`: starts a run, on a new thread when `threadID` is nil.
    public struct UserMessage: Sendable, Equatable, Codable {
        public var content: String
        public var threadID: String?
        public var clientMessageID: String?

        public init(content: String, threadID: String? = nil, clientMessageID: String? = nil) {
            self.content = content
            self.threadID = threadID
            self.clientMessageID = clientMessageID
        }

        enum CodingKeys: String, CodingKey {
            case content
            case threadID = "thread_id"
            case clientMessageID = "client_msg_id"
        }
    }

    /// `{"type":"resume",…}`: watch a thread, replaying every event after `afterSeq` first.
    public struct Resume: Sendable, Equatable, Codable {
        public var threadID: String
        public var afterSeq: Int
        public var epoch: String?

        public init(threadID: String, afterSeq: Int, epoch: String? = nil) {
            self.threadID = threadID
            self.afterSeq = afterSeq
            self.epoch = epoch
        }

        enum CodingKeys: String, CodingKey {
            case threadID = "thread_id"
            case afterSeq = "after_seq"
            case epoch
        }
    }

    /// `{"type":"approval_response",…}`: a person's decision on an approval request (DESIGN.md section 10).
    public struct ApprovalResponse: Sendable, Equatable {
        /// What the person decided.
        public enum Decision: String, Sendable, Equatable {
            case approve, deny
        }

        public var approvalID: String
        public var decision: Decision
        /// Edited arguments to run the tool with; nil keeps the requested ones. Only with `approve`.
        public var arguments: [String: JSONValue]?
        public var reason: String?

        public init(approvalID: String, decision: Decision, arguments: [String: JSONValue]? = nil, reason: String? = nil) {
            self.approvalID = approvalID
            self.decision = decision
            self.arguments = arguments
            self.reason = reason
        }
    }

    public var typeName: String {
        switch self {
        case .userMessage: "user_message"
        case .cancelRun: "cancel_run"
        case .resume: "resume"
        case .approvalResponse: "approval_response"
        case .ping: "ping"
        }
    }
}

extension ClientMessage {
    /// Decodes one text frame strictly: `unknown_type` for a type this protocol lacks,
    /// `bad_request` naming the field for a missing or mistyped one. Unknown extra fields are ignored.
    public static func decode(_ data: some Collection<UInt8>) throws(ProtocolError) -> ClientMessage {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(data))
        } catch {
            throw ProtocolError(.badRequest, "malformed JSON")
        }
        guard case .object(let fields) = value else {
            throw ProtocolError(.badRequest, "a frame must be a JSON object")
        }
        let reader = FieldReader(fields: fields)
        let type = try reader.requiredString("type")
        switch type {
        case "user_message":
            return .userMessage(
                UserMessage(
                    content: try reader.requiredString("content"),
                    threadID: try reader.optionalString("thread_id"),
                    clientMessageID: try reader.optionalString("client_msg_id")
                )
            )
        case "cancel_run":
            return .cancelRun(runID: try reader.requiredString("run_id"))
        case "resume":
            return .resume(
                Resume(
                    threadID: try reader.requiredString("thread_id"),
                    afterSeq: try reader.requiredSequenceNumber("after_seq"),
                    epoch: try reader.optionalString("epoch")
                )
            )
        case "approval_response":
            let decisionText = try reader.requiredString("decision")
            guard let decision = ApprovalResponse.Decision(rawValue: decisionText) else {
                throw ProtocolError(.badRequest, "field 'decision' must be \"approve\" or \"deny\"")
            }
            let arguments = try reader.optionalObject("arguments")
            if arguments != nil, decision == .deny {
                throw ProtocolError(.badRequest, "field 'arguments' goes only with \"approve\"")
            }
            return .approvalResponse(
                ApprovalResponse(
                    approvalID: try reader.requiredString("approval_id"),
                    decision: decision,
                    arguments: arguments,
                    reason: try reader.optionalString("reason")
                )
            )
        case "ping":
            return .ping
        default:
            // Scalars, not characters: one character can combine any number of scalars, and the echo must stay short.
            throw ProtocolError(.unknownType, "unknown message type '\(String(String.UnicodeScalarView(type.unicodeScalars.prefix(64))))'")
        }
    }

    /// Reads typed fields of a client frame, naming the field in every error.
    private struct FieldReader {
        let fields: [String: JSONValue]

        func requiredString(_ name: String) throws(ProtocolError) -> String {
            guard let value = fields[name], value != .null else {
                throw ProtocolError(.badRequest, "missing field '\(name)'")
            }
            guard case .string(let text) = value else {
                throw ProtocolError(.badRequest, "field '\(name)' must be a string")
            }
            return text
        }

        func optionalString(_ name: String) throws(ProtocolError) -> String? {
            guard let value = fields[name], value != .null else { return nil }
            guard case .string(let text) = value else {
                throw ProtocolError(.badRequest, "field '\(name)' must be a string")
            }
            return text
        }

        func optionalObject(_ name: String) throws(ProtocolError) -> [String: JSONValue]? {
            guard let value = fields[name], value != .null else { return nil }
            guard case .object(let object) = value else {
                throw ProtocolError(.badRequest, "field '\(name)' must be a JSON object")
            }
            return object
        }

        /// A whole number from 0 up to 2^53, the range JSON numbers carry exactly.
        func requiredSequenceNumber(_ name: String) throws(ProtocolError) -> Int {
            guard let value = fields[name], value != .null else {
                throw ProtocolError(.badRequest, "missing field '\(name)'")
            }
            guard case .number(let number) = value, number.rounded() == number else {
                throw ProtocolError(.badRequest, "field '\(name)' must be a whole number")
            }
            guard number >= 0, number <= 9_007_199_254_740_992 else {
                throw ProtocolError(.badRequest, "field '\(name)' must be between 0 and 2^53")
            }
            return Int(number)
        }
    }

    /// The JSON text a client sends for this message.
    public func encoded() -> String {
        var object: [String: JSONValue] = ["type": .string(typeName)]
        switch self {
        case .userMessage(let message):
            object["content"] = .string(message.content)
            if let thread = message.threadID { object["thread_id"] = .string(thread) }
            if let id = message.clientMessageID { object["client_msg_id"] = .string(id) }
        case .cancelRun(let runID):
            object["run_id"] = .string(runID)
        case .resume(let resume):
            object["thread_id"] = .string(resume.threadID)
            object["after_seq"] = .number(Double(resume.afterSeq))
            if let epoch = resume.epoch { object["epoch"] = .string(epoch) }
        case .approvalResponse(let response):
            object["approval_id"] = .string(response.approvalID)
            object["decision"] = .string(response.decision.rawValue)
            if let arguments = response.arguments { object["arguments"] = .object(arguments) }
            if let reason = response.reason { object["reason"] = .string(reason) }
        case .ping:
            break
        }
        return JSONValue.object(object).jsonString()
    }
}
