import Foundation

/// A frame the gateway sends to a browser besides events (DESIGN.md section 3).
public enum ServerMessage: Sendable, Equatable {
    case connectionEstablished(ConnectionEstablished)
    case runQueued(RunQueued)
    case resumed(Resumed)
    case pong
    case error(ProtocolError)

    /// Sent once, first, on every connection.
    public struct ConnectionEstablished: Sendable, Equatable, Codable {
        public var connectionID: String
        public var userID: String
        public var `protocol`: String
        public var serverTime: String
        public var guestToken: String?

        public init(connectionID: String, userID: String, serverTime: String, guestToken: String? = nil) {
            self.connectionID = connectionID
            self.userID = userID
            self.protocol = HeraldProtocolVersion.subprotocol
            self.serverTime = serverTime
            self.guestToken = guestToken
        }

        enum CodingKeys: String, CodingKey {
            case connectionID = "connection_id"
            case userID = "user_id"
            case `protocol`
            case serverTime = "server_time"
            case guestToken = "guest_token"
        }
    }

    /// The answer to `user_message`: the run is on the queue.
    public struct RunQueued: Sendable, Equatable, Codable {
        public var runID: String
        public var threadID: String
        public var clientMessageID: String?

        public init(runID: String, threadID: String, clientMessageID: String?) {
            self.runID = runID
            self.threadID = threadID
            self.clientMessageID = clientMessageID
        }

        enum CodingKeys: String, CodingKey {
            case runID = "run_id"
            case threadID = "thread_id"
            case clientMessageID = "client_msg_id"
        }
    }

    /// The answer to `resume`, sent after the replayed events.
    public struct Resumed: Sendable, Equatable, Codable {
        public var threadID: String
        public var epoch: String
        public var recovered: Bool
        public var replayed: Int
        public var lastSeq: Int

        public init(threadID: String, epoch: String, recovered: Bool, replayed: Int, lastSeq: Int) {
            self.threadID = threadID
            self.epoch = epoch
            self.recovered = recovered
            self.replayed = replayed
            self.lastSeq = lastSeq
        }

        enum CodingKeys: String, CodingKey {
            case threadID = "thread_id"
            case epoch, recovered, replayed
            case lastSeq = "last_seq"
        }
    }
}

/// Protocol constants shared by every side.
public enum HeraldProtocolVersion {
    public static let subprotocol = "herald.v1"
}

extension ServerMessage {
    /// The JSON text frame for this message.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        func tagged<T: Encodable>(_ type: String, _ body: T) -> String {
            let data = (try? encoder.encode(Tagged(type: type, body: body))) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
        switch self {
        case .connectionEstablished(let body): return tagged("connection_established", body)
        case .runQueued(let body): return tagged("run_queued", body)
        case .resumed(let body): return tagged("resumed", body)
        case .pong: return #"{"type":"pong"}"#
        case .error(let error): return tagged("error", ErrorBody(error))
        }
    }

    /// Decodes a server frame that is not an event; nil for event frames and unknown types.
    public static func decode(_ text: String) throws -> ServerMessage? {
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        let type = try decoder.decode(TypeProbe.self, from: data).type
        switch type {
        case "connection_established": return .connectionEstablished(try decoder.decode(ConnectionEstablished.self, from: data))
        case "run_queued": return .runQueued(try decoder.decode(RunQueued.self, from: data))
        case "resumed": return .resumed(try decoder.decode(Resumed.self, from: data))
        case "pong": return .pong
        case "error":
            let body = try decoder.decode(ErrorBody.self, from: data)
            guard let code = ErrorCode(rawValue: body.code) else { return nil }
            return .error(ProtocolError(code, body.message, ref: body.ref))
        default: return nil
        }
    }

    private struct TypeProbe: Decodable { let type: String }

    private struct ErrorBody: Codable {
        var code: String
        var message: String
        var ref: String?
        init(_ error: ProtocolError) {
            code = error.code.rawValue
            message = error.message
            ref = error.ref
        }
    }

    private struct Tagged<Body: Encodable>: Encodable {
        let type: String
        let body: Body
        enum CodingKeys: String, CodingKey { case type }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try body.encode(to: encoder)
        }
    }
}
