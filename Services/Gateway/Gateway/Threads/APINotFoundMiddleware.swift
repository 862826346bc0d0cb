import Hummingbird

/// Answers a request under `/api/` that no route takes with a JSON 404, as every API error is JSON.
struct APINotFoundMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/api/") else { return try await next(request, context) }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return ThreadRoutes.errorResponse(ThreadRoutes.Failure(.notFound, .notFound, "no such route"))
        }
    }
}
