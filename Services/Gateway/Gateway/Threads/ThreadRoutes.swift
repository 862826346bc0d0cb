import Foundation
import HTTPTypes
import HeraldCore
import HeraldProtocol
import Hummingbird
import Logging
import NIOCore

/// The threads API (DESIGN.md section 9) under `/api/threads`, with the same authentication as `/ws`: a JWT, or in
/// guest mode a guest token, as `Authorization: Bearer` or `?token=`. Errors are JSON `{"error","message"}`; someone
/// else's thread is 404, as one that does not exist.
struct ThreadRoutes: Sendable {
    /// A refused request: its status and error body.
    struct Failure: Error, Sendable {
        var status: HTTPResponse.Status
        var code: String
        var message: String

        init(_ status: HTTPResponse.Status, _ code: ErrorCode, _ message: String) {
            self.init(status: status, code: code.rawValue, message: message)
        }

        init(status: HTTPResponse.Status, code: String, message: String) {
            self.status = status
            self.code = code
            self.message = message
        }

        static let notFound = Failure(.notFound, .notFound, "no such thread")
    }

    /// The page sizes a client may ask for, and what it gets without asking.
    static let threadPageSizes = 1...100
    static let defaultThreadPageSize = 20
    static let messagePageSizes = 1...200
    static let defaultMessagePageSize = 50

    let store: ThreadStore
    let authenticator: TokenAuthenticator
    let limiter: UserRateLimiter<ContinuousClock>
    let maxRequestBytes: Int
    let logger: Logger

    func add(to router: Router<GatewayRequestContext>) {
        let threads = router.group("api/threads")
        threads.get { request, context in await respond { try await list(request, context) } }
        threads.get(":thread") { request, context in await respond { try await show(request, context) } }
        threads.patch(":thread") { request, context in await respond { try await rename(request, context) } }
        threads.delete(":thread") { request, context in await respond { try await delete(request, context) } }
        threads.get(":thread/messages") { request, context in await respond { try await messages(request, context) } }
        // Any other method on these paths: 405 naming the ones there are, in JSON like every other error.
        let allowed: [(RouterPath, [HTTPRequest.Method])] = [("", [.get]), (":thread", [.get, .patch, .delete]), (":thread/messages", [.get])]
        for (path, methods) in allowed {
            for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete, .options, .trace] where !methods.contains(method) {
                threads.on(path, method: method) { _, _ in
                    var response = Self.errorResponse(
                        Failure(status: .methodNotAllowed, code: ErrorCode.badRequest.rawValue, message: "\(method) is not allowed here")
                    )
                    response.headers[.allow] = methods.map(\.rawValue).joined(separator: ", ")
                    return response
                }
            }
        }
    }

    // MARK: Routes

    private func list(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let userID = try await identify(request, context)
        let limit = try pageSize(request, range: Self.threadPageSizes, default: Self.defaultThreadPageSize)
        let cursor = try request.uri.queryParameters.get("cursor").map { text in
            guard let cursor = ThreadListCursor(text) else { throw Failure(.badRequest, .badRequest, "'cursor' is not a cursor this API gave") }
            return cursor
        }
        return try json(.ok, await store.threads(of: userID, limit: limit, after: cursor))
    }

    private func show(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let userID = try await identify(request, context)
        guard let thread = try await store.thread(try threadID(context), of: userID) else { throw Failure.notFound }
        return try json(.ok, thread)
    }

    private func rename(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let userID = try await identify(request, context)
        let threadID = try threadID(context)
        let title = try await Self.title(from: request.body, limit: maxRequestBytes)
        guard let thread = try await store.rename(threadID, of: userID, to: title) else { throw Failure.notFound }
        return try json(.ok, thread)
    }

    private func delete(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let userID = try await identify(request, context)
        guard try await store.delete(try threadID(context), of: userID) else { throw Failure.notFound }
        return Response(status: .noContent)
    }

    private func messages(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let userID = try await identify(request, context)
        let threadID = try threadID(context)
        let limit = try pageSize(request, range: Self.messagePageSizes, default: Self.defaultMessagePageSize)
        let before = try request.uri.queryParameters.get("before").map { text in
            guard let position = MessagePosition(text) else { throw Failure(.badRequest, .badRequest, "'before' is not a cursor this API gave") }
            return position
        }
        guard let page = try await store.messages(of: threadID, userID: userID, before: before, limit: limit) else { throw Failure.notFound }
        return try json(.ok, page)
    }

    // MARK: Parts of a request

    /// The caller's user id; a request without a valid token is 401 in either mode (an API call has no guest to
    /// become), one over the user's rate 429.
    private func identify(_ request: Request, _ context: GatewayRequestContext) async throws(Failure) -> String {
        let presented = request.headers[.authorization].flatMap(PresentedCredentials.bearerToken) ?? request.uri.queryParameters.get("token")
        guard let token = presented, !token.isEmpty else {
            throw Failure(status: .unauthorized, code: "unauthorized", message: "a token is required (Authorization: Bearer, or ?token=)")
        }
        let userID: String
        do {
            userID = try await authenticator.authenticate(token: token, clientAddress: ClientAddress.addressKey(context.channel.remoteAddress)).userID
        } catch {
            // The API's errors are the codes of DESIGN.md section 3: a gateway that cannot check tokens now is `internal`.
            throw Failure(
                status: error.status,
                code: error.status == .unauthorized ? error.error : ErrorCode.internal.rawValue,
                message: error.message
            )
        }
        guard await limiter.take(for: userID) else {
            throw Failure(.tooManyRequests, .rateLimited, "too many requests; slow down (HERALD_RATE_LIMIT_PER_SECOND)")
        }
        return userID
    }

    private func threadID(_ context: GatewayRequestContext) throws(Failure) -> String {
        // Not a valid id: no thread has it.
        guard let id = context.parameters.get("thread"), ConnectionSession.isValidID(id) else { throw Failure.notFound }
        return id
    }

    private func pageSize(_ request: Request, range: ClosedRange<Int>, default value: Int) throws(Failure) -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return value }
        guard let limit = Int(text), range.contains(limit) else {
            throw Failure(.badRequest, .badRequest, "'limit' must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return limit
    }

    /// The title of a rename body: `{"title": STR}` and nothing else, 1…200 characters once trimmed.
    static func title(from body: RequestBody, limit: Int) async throws(Failure) -> String {
        let bytes: ByteBuffer
        do {
            bytes = try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Failure(.contentTooLarge, .tooLarge, "the request body is larger than \(limit) bytes")
        } catch {
            throw Failure(.badRequest, .badRequest, "the request body could not be read")
        }
        return try title(fromJSON: bytes)
    }

    static func title(fromJSON bytes: ByteBuffer) throws(Failure) -> String {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes)), case .object(let object) = value else {
            throw Failure(.badRequest, .badRequest, "the body must be a JSON object {\"title\": string}")
        }
        if let unknown = object.keys.sorted().first(where: { $0 != "title" }) {
            throw Failure(.badRequest, .badRequest, "unknown field '\(unknown)'")
        }
        guard case .string(let raw)? = object["title"] else {
            throw Failure(.badRequest, .badRequest, "field 'title' must be a string")
        }
        let title = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty, title.count <= ThreadRecord.maxTitleCharacters else {
            throw Failure(.badRequest, .badRequest, "field 'title' must hold 1 to \(ThreadRecord.maxTitleCharacters) characters")
        }
        return title
    }

    // MARK: Responses

    private func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(data: try encoder.encode(value)))
        )
    }

    /// Runs a route; its failure becomes a JSON error, and anything unexpected (Redis gone) a 503 `internal`.
    private func respond(_ route: () async throws -> Response) async -> Response {
        do {
            return try await route()
        } catch let failure as Failure {
            return Self.errorResponse(failure)
        } catch {
            logger.warning("threads API request failed", metadata: ["error": "\(error)"])
            return Self.errorResponse(Failure(.serviceUnavailable, .internal, "the request could not be served now; try again"))
        }
    }

    static func errorResponse(_ failure: Failure) -> Response {
        let body = JSONValue.object(["error": .string(failure.code), "message": .string(failure.message)]).jsonString()
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if failure.status == .tooManyRequests { headers[.retryAfter] = "1" }
        return Response(status: failure.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
