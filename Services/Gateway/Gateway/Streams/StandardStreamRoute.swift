import Foundation
import HTTPTypes

/// A request to one of the standard streaming endpoints (docs/agui.md, docs/ai-sdk.md), told by its method and
/// target alone: the connection's pipeline recognises it before any router sees it (`StandardStreamHandler`), and
/// Hummingbird's router by the same rule for a request that follows others on a kept-alive connection.
enum StandardStreamRoute: Sendable, Equatable {
    /// `POST /agui`: start a run, or pick up the active run the body names.
    case aguiRun
    /// `GET /agui/{threadId}?runId=`: pick up the thread's active run. The ids as the client wrote them, decoded.
    case aguiReattach(threadID: String, runID: String?)
    /// `POST /api/chat`: a `useChat` request that starts a run on the chat's thread.
    case chatRun
    /// `GET /api/chat/{id}/stream`: resume the chat's active run.
    case chatResume(chatID: String)

    /// The route `method` and `target` (path and query, as the request line has them) ask for, if any.
    init?(method: HTTPRequest.Method, target: String) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var segments = parts[0].split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if segments.count > 1, segments.last == "" { segments.removeLast() }
        let path = Array(segments)
        let query = parts.count > 1 ? parts[1] : ""
        switch (method, path.count) {
        case (.post, 1) where path[0] == "agui":
            self = .aguiRun
        case (.get, 2) where path[0] == "agui":
            self = .aguiReattach(threadID: Self.decoded(path[1]), runID: Self.parameter("runId", in: query))
        case (.post, 2) where path[0] == "api" && path[1] == "chat":
            self = .chatRun
        case (.get, 4) where path[0] == "api" && path[1] == "chat" && path[3] == "stream":
            self = .chatResume(chatID: Self.decoded(path[2]))
        default:
            return nil
        }
    }

    /// The standard a route speaks.
    enum Standard: String, Sendable {
        case agui
        case aiSDK = "ai_sdk"
    }

    var standard: Standard {
        switch self {
        case .aguiRun, .aguiReattach: .agui
        case .chatRun, .chatResume: .aiSDK
        }
    }

    /// The endpoint label of the stream metrics.
    var endpoint: String { standard.rawValue }

    /// A percent-decoded path segment; one that does not decode is empty, which no id accepts.
    private static func decoded(_ segment: Substring) -> String {
        String(segment).removingPercentEncoding ?? ""
    }

    /// The first value of `name` in a query string, percent-decoded.
    private static func parameter(_ name: String, in query: Substring) -> String? {
        for pair in query.split(separator: "&") {
            let field = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard field[0] == name else { continue }
            return field.count > 1 ? String(field[1]).removingPercentEncoding : ""
        }
        return nil
    }
}
