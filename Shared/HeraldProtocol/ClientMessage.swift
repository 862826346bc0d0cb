import Foundation

/// A frame a browser sends to the gateway (DESIGN.md section 3).
public enum ClientMessage: Sendable, Equatable {
    case userMessage(UserMessage)
    case cancelRun(runID: String)
    case resume(Resume)
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

    public var typeName: String {
        switch self {
        case .userMessage: "user_message"
        case .cancelRun: "cancel_run"
        case .resume: "resume"
        case .ping: "ping"
        }
    }
}

extension ClientMessage {
    private struct TypeProbe: Decodable {
        let type: String
    }

    private struct CancelRun: Codable {
        let runID: String
        enum CodingKeys: String, CodingKey { case runID = "run_id" }
    }

    /// Decodes one text frame strictly: `unknown_type` for a type this protocol lacks,
    /// `bad_request` naming the field for a missing or mistyped one.
    public static func decode(_ data: some Collection<UInt8>) throws(ProtocolError) -> ClientMessage {
        let bytes = Data(data)
        let decoder = JSONDecoder()
        let type: String
        do {
            let object = try JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])
            guard let dictionary = object as? [String: Any] else {
                throw ProtocolError(.badRequest, "a frame must be a JSON object")
            }
            guard let typeValue = dictionary["type"] else {
                throw ProtocolError(.badRequest, "missing field 'type'")
            }
            guard let typeString = typeValue as? String else {
                throw ProtocolError(.badRequest, "field 'type' must be a string")
            }
            type = typeString
        } catch let error as ProtocolError {
            throw error
        } catch {
            throw ProtocolError(.badRequest, "malformed JSON")
        }
        do {
            switch type {
            case "user_message":
                return .userMessage(try decoder.decode(UserMessage.self, from: bytes))
            case "cancel_run":
                return .cancelRun(runID: try decoder.decode(CancelRun.self, from: bytes).runID)
            case "resume":
                let resume = try decoder.decode(Resume.self, from: bytes)
                guard resume.afterSeq >= 0 else {
                    throw ProtocolError(.badRequest, "field 'after_seq' must not be negative")
                }
                return .resume(resume)
            case "ping":
                return .ping
            default:
                throw ProtocolError(.unknownType, "unknown message type '\(type.prefix(64))'")
            }
        } catch let error as ProtocolError {
            throw error
        } catch let error as DecodingError {
            throw ProtocolError(.badRequest, Self.describe(error))
        } catch {
            throw ProtocolError(.badRequest, "malformed message")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            (codingPath + (last.map { [$0] } ?? [])).map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath, key))'"
        case .typeMismatch(let expected, let context):
            return "field '\(path(context.codingPath))' must be \(Self.typeName(expected))"
        case .valueNotFound(let expected, let context):
            return "field '\(path(context.codingPath))' must be \(Self.typeName(expected)), not null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "malformed JSON" : "field '\(path(context.codingPath))' is invalid"
        @unknown default:
            return "malformed message"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        default: "of another type"
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
        case .ping:
            break
        }
        return JSONValue.object(object).jsonString()
    }
}
