import Foundation

/// Who a connection belongs to, decided before the upgrade.
public struct ConnectionIdentity: Sendable, Equatable {
    public var userID: String
    /// A (renewed) guest token for `connection_established`; nil when tokens come from elsewhere (JWT mode).
    public var guestToken: String?
    /// When the presented token expires; the connection is closed with 4401 at that moment.
    public var expiresAt: Date?

    public init(userID: String, guestToken: String? = nil, expiresAt: Date? = nil) {
        self.userID = userID
        self.guestToken = guestToken
        self.expiresAt = expiresAt
    }
}
