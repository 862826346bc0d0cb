/// Error codes of the `error` server message (DESIGN.md section 3).
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    case badRequest = "bad_request"
    case unknownType = "unknown_type"
    case forbidden
    case notFound = "not_found"
    case threadBusy = "thread_busy"
    /// A decision already taken: an approval another tab answered first.
    case conflict
    case rateLimited = "rate_limited"
    case tooLarge = "too_large"
    case `internal`
}

/// WebSocket close codes of the browser protocol (DESIGN.md section 3).
public enum HeraldCloseCode {
    public static let goingAway: UInt16 = 1001
    public static let unsupportedData: UInt16 = 1003
    public static let messageTooBig: UInt16 = 1009
    public static let slowConsumer: UInt16 = 4008
    public static let tokenExpired: UInt16 = 4401
    public static let tooManyConnections: UInt16 = 4429
}

/// A client frame that could not be accepted, with the code and message sent back in an `error` frame.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var ref: String?

    public init(_ code: ErrorCode, _ message: String, ref: String? = nil) {
        self.code = code
        self.message = message
        self.ref = ref
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
