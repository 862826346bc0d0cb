import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

/// The threads API (DESIGN.md section 9) as a client sees it over HTTP, decoded into the contract's shapes.
struct ThreadsAPI {
    struct Thread: Decodable, Equatable {
        var threadID: String
        var title: String
        var createdAt: String
        var updatedAt: String
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

    struct ToolCall: Decodable, Equatable {
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

    struct Message: Decodable, Equatable {
        var messageID: String
        var runID: String
        var role: String
        var content: String
        var createdAt: String
        var status: String?
        var toolCalls: [ToolCall]?
        enum CodingKeys: String, CodingKey {
            case messageID = "message_id"
            case runID = "run_id"
            case role, content
            case createdAt = "created_at"
            case status
            case toolCalls = "tool_calls"
        }
    }

    struct ThreadPage: Decodable {
        var threads: [Thread]
        var nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case threads
            case nextCursor = "next_cursor"
        }
    }

    struct MessagePage: Decodable {
        var messages: [Message]
        var nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case messages
            case nextCursor = "next_cursor"
        }
    }

    struct APIError: Decodable, Equatable {
        var error: String
        var message: String
    }

    let port: Int
    let token: String?

    init(port: Int, token: String?) {
        self.port = port
        self.token = token
    }

    /// The API as the guest of `client` calls it, with its guest token.
    init(_ client: ChatTestClient, port: Int) throws {
        let token = try #require(client.established.guestToken)
        self.init(port: port, token: token)
    }

    func call(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws -> HTTPProbe.Response {
        var headers = headers
        if let token { headers["Authorization"] = "Bearer \(token)" }
        if body != nil { headers["Content-Type"] = "application/json" }
        return try await HTTPProbe.request(method, port: port, path: path, headers: headers, body: body)
    }

    /// The body of a response with `status`, decoded; records an issue naming what came instead.
    func decode<T: Decodable>(
        _ type: T.Type,
        _ response: HTTPProbe.Response,
        status: Int = 200,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> T {
        #expect(response.status == status, "\(response.head)\n\(response.body)", sourceLocation: sourceLocation)
        return try JSONDecoder().decode(T.self, from: Data(response.body.utf8))
    }

    /// The error of a refused request, checked to have `status`.
    func error(
        _ method: String,
        _ path: String,
        body: String? = nil,
        status: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> APIError {
        let response = try await call(method, path, body: body)
        #expect(response.head.lowercased().contains("content-type: application/json"), sourceLocation: sourceLocation)
        return try decode(APIError.self, response, status: status, sourceLocation: sourceLocation)
    }

    func threads(limit: Int? = nil, cursor: String? = nil) async throws -> ThreadPage {
        var query: [String] = []
        if let limit { query.append("limit=\(limit)") }
        if let cursor { query.append("cursor=\(cursor)") }
        return try decode(ThreadPage.self, try await call("GET", "/api/threads" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))))
    }

    /// Every thread, page by page.
    func allThreads(pageSize: Int) async throws -> [Thread] {
        var all: [Thread] = []
        var cursor: String?
        repeat {
            let page = try await threads(limit: pageSize, cursor: cursor)
            all += page.threads
            cursor = page.nextCursor
        } while cursor != nil
        return all
    }

    func thread(_ id: String) async throws -> Thread {
        try decode(Thread.self, try await call("GET", "/api/threads/\(id)"))
    }

    func messages(_ threadID: String, before: String? = nil, limit: Int? = nil) async throws -> MessagePage {
        var query: [String] = []
        if let before { query.append("before=\(before)") }
        if let limit { query.append("limit=\(limit)") }
        return try decode(
            MessagePage.self,
            try await call("GET", "/api/threads/\(threadID)/messages" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        )
    }

    /// Every message of the thread, oldest first, read page by page from the newest as a chat page scrolls back.
    func allMessages(_ threadID: String, pageSize: Int) async throws -> [Message] {
        var pages: [[Message]] = []
        var before: String?
        repeat {
            let page = try await messages(threadID, before: before, limit: pageSize)
            pages.append(page.messages)
            before = page.nextCursor
        } while before != nil
        return pages.reversed().flatMap { $0 }
    }
}
