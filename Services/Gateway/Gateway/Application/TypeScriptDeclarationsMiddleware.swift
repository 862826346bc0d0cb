import HTTPTypes
import Hummingbird

/// Serves TypeScript declarations (`herald-client.d.ts`) as TypeScript text: the file middleware takes the `.ts`
/// extension for an MPEG transport stream (`video/mp2t`).
struct TypeScriptDeclarationsMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if request.uri.path.hasSuffix(".d.ts"), response.status == .ok {
            response.headers[.contentType] = "application/typescript; charset=utf-8"
        }
        return response
    }
}
