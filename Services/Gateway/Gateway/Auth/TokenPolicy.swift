import Foundation
import HeraldProtocol

/// What a verified JWT must also say to be accepted: its issuer and audience, times within a leeway for clock skew,
/// and the claim that holds the user id.
public struct TokenPolicy: Sendable, Equatable {
    /// The `iss` every token must carry; nil: not checked.
    public var issuer: String?
    /// Audiences of which `aud` must name one; empty: not checked.
    public var audiences: [String]
    /// Clock skew allowed on `exp` and `nbf`.
    public var leeway: Duration
    /// The claim that holds the user id.
    public var userClaim: String
    /// Whether a token without `exp` is refused (always, when an identity provider's keys are trusted).
    public var requiresExpiry: Bool

    public init(
        issuer: String? = nil,
        audiences: [String] = [],
        leeway: Duration = .seconds(30),
        userClaim: String = "sub",
        requiresExpiry: Bool = false
    ) {
        self.issuer = issuer
        self.audiences = audiences
        self.leeway = leeway
        self.userClaim = userClaim
        self.requiresExpiry = requiresExpiry
    }

    /// The identity `claims` give at `now`, or why they give none.
    func identity(from claims: [String: JSONValue], now: Date) throws(UpgradeRefusal) -> ConnectionIdentity {
        let leeway = self.leeway.seconds
        var expiresAt: Date?
        switch claims["exp"] {
        case .number(let exp):
            // Accepted until exp + leeway, so the connection is closed then and not the moment it opens.
            expiresAt = Date(timeIntervalSince1970: exp + leeway)
            guard now < expiresAt! else { throw .unauthorized("token expired") }
        case nil:
            guard !requiresExpiry else { throw .unauthorized("the token has no expiry (exp)") }
        default:
            throw .unauthorized("invalid token: exp is not a number")
        }
        switch claims["nbf"] {
        case .number(let nbf):
            guard now.timeIntervalSince1970 + leeway >= nbf else { throw .unauthorized("token not valid yet") }
        case nil:
            break
        default:
            throw .unauthorized("invalid token: nbf is not a number")
        }
        if let issuer, claims["iss"] != .string(issuer) {
            throw .unauthorized("the token's issuer is not the one this gateway trusts")
        }
        if !audiences.isEmpty {
            let named: [String]
            switch claims["aud"] {
            case .string(let audience): named = [audience]
            case .array(let values): named = values.compactMap { if case .string(let audience) = $0 { audience } else { nil } }
            default: named = []
            }
            guard named.contains(where: audiences.contains) else { throw .unauthorized("the token is not meant for this gateway (aud)") }
        }
        let userID: String
        switch claims[userClaim] {
        case .string(let text):
            userID = text
        case .number(let number) where number.rounded() == number && abs(number) < 1e15:
            userID = String(Int64(number))
        default:
            throw .unauthorized("the token has no user id in '\(userClaim)'")
        }
        guard TokenAuthenticator.isUsableUserID(userID) else {
            throw .unauthorized("the token's user id ('\(userClaim)') is not a usable user id")
        }
        return ConnectionIdentity(userID: userID, expiresAt: expiresAt)
    }
}
