import Foundation
import HTTPTypes
import HeraldProtocol

/// What a WebSocket upgrade request offers: a token (from the subprotocol list, the `token` query
/// parameter or `Authorization: Bearer`, in that order) and whether it speaks `herald.v1`.
public struct PresentedCredentials: Sendable, Equatable {
    /// Prefix of the subprotocol entry that carries a token: `bearer.<jwt>`.
    public static let bearerSubprotocolPrefix = "bearer."

    public var token: String?
    public var offersHeraldProtocol: Bool

    public init(token: String?, offersHeraldProtocol: Bool) {
        self.token = token
        self.offersHeraldProtocol = offersHeraldProtocol
    }

    public init(request: HTTPRequest) {
        // Browsers cannot set headers on a WebSocket, so the subprotocol list is where the page puts its token.
        let protocols = request.headerFields[values: .secWebSocketProtocol]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        offersHeraldProtocol = protocols.contains(HeraldProtocolVersion.subprotocol)
        let fromProtocol = protocols.first { $0.hasPrefix(Self.bearerSubprotocolPrefix) }
            .map { String($0.dropFirst(Self.bearerSubprotocolPrefix.count)) }
        let fromQuery = Self.queryValue("token", in: request.path)
        let fromHeader = request.headerFields[.authorization].flatMap(Self.bearerToken)
        token = [fromProtocol, fromQuery, fromHeader].lazy.compactMap { $0 }.first { !$0.isEmpty }
    }

    /// The path without its query, e.g. `/ws` for `/ws?token=…`.
    public static func route(of path: String?) -> Substring {
        guard let path else { return "" }
        return path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }

    static func queryValue(_ name: String, in path: String?) -> String? {
        guard let path, let query = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.first == Substring(name) else { continue }
            let raw = parts.count > 1 ? String(parts[1]) : ""
            return raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? raw
        }
        return nil
    }

    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
