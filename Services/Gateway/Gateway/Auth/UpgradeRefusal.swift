import Foundation
import HTTPTypes

/// Why a WebSocket upgrade is refused: the HTTP status and the JSON body `{"error":…,"message":…}` sent instead.
public struct UpgradeRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var error: String
    public var message: String

    public init(status: HTTPResponse.Status, error: String, message: String) {
        self.status = status
        self.error = error
        self.message = message
    }

    /// A missing, malformed, forged or expired token (HTTP 401).
    public static func unauthorized(_ message: String) -> UpgradeRefusal {
        UpgradeRefusal(status: .unauthorized, error: "unauthorized", message: message)
    }

    /// A browser page from an origin `HERALD_ALLOWED_ORIGINS` does not list (HTTP 403).
    public static func forbidden(_ message: String) -> UpgradeRefusal {
        UpgradeRefusal(status: .forbidden, error: "forbidden", message: message)
    }

    /// A limit on new guests from one address (HTTP 429).
    public static func tooManyRequests(_ message: String) -> UpgradeRefusal {
        UpgradeRefusal(status: .tooManyRequests, error: "rate_limited", message: message)
    }

    /// The gateway cannot take connections now: it is shutting down or cannot reach Redis (HTTP 503).
    public static func unavailable(_ message: String) -> UpgradeRefusal {
        UpgradeRefusal(status: .serviceUnavailable, error: "unavailable", message: message)
    }

    /// The response body.
    public var jsonBody: String {
        let object = ["error": error, "message": message]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A dictionary of strings always encodes.
        let data = (try? encoder.encode(object)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    public var description: String { "\(status.code) \(error): \(message)" }
}
