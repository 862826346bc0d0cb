import Foundation
import HeraldCore
import JWTKit
import Logging
import Redis

/// Decides who a WebSocket belongs to before the upgrade.
///
/// In JWT mode (`HERALD_JWT_SECRET`) a connection must present an HS256 JWT whose `sub` is the user id.
/// In guest mode a connection without a token becomes a new guest user, and every connection gets a
/// renewed guest token signed with the deployment's guest secret, which lives in Redis so that any
/// gateway of the deployment accepts a token another one issued.
public actor TokenAuthenticator {
    /// Where tokens come from.
    public enum Mode: Sendable, Equatable {
        /// Tokens are issued elsewhere and signed with this secret.
        case jwt(secret: String)
        /// Tokens are guest tokens this deployment issues itself.
        case guest
    }

    public let mode: Mode
    private let redis: RedisClient
    private let keys: RedisKeys
    private let guestTokenLifetime: Duration
    private let logger: Logger
    private var verifier: JWTKeyCollection?
    private var verifierSecret: [UInt8] = []

    public init(mode: Mode, redis: RedisClient, keys: RedisKeys, guestTokenLifetime: Duration, logger: Logger) {
        self.mode = mode
        self.redis = redis
        self.keys = keys
        self.guestTokenLifetime = guestTokenLifetime
        self.logger = logger
    }

    /// The identity for a connection that presented `token` (nil when it presented none).
    public func authenticate(token: String?) async throws(UpgradeRefusal) -> ConnectionIdentity {
        switch mode {
        case .jwt:
            guard let token else { throw .unauthorized("a token is required") }
            let claims = try await verify(token, with: signingKeys())
            return ConnectionIdentity(userID: claims.sub.value, expiresAt: claims.exp?.value)
        case .guest:
            let keys = try await signingKeys()
            let userID: String
            if let token {
                userID = try await verify(token, with: keys).sub.value
            } else {
                userID = Identifier.make("guest")
            }
            // A renewed token each time keeps a returning guest's identity alive for another lifetime.
            let expiresAt = Date().addingTimeInterval(guestTokenLifetime.seconds)
            let claims = UserClaims(sub: SubjectClaim(value: userID), exp: ExpirationClaim(value: expiresAt), iat: IssuedAtClaim(value: Date()))
            do {
                let guestToken = try await keys.sign(claims)
                return ConnectionIdentity(userID: userID, guestToken: guestToken, expiresAt: expiresAt)
            } catch {
                logger.error("cannot sign a guest token", metadata: ["error": "\(error)"])
                throw .unavailable("cannot issue a guest token")
            }
        }
    }

    private func verify(_ token: String, with keys: JWTKeyCollection) async throws(UpgradeRefusal) -> UserClaims {
        let claims: UserClaims
        do {
            claims = try await keys.verify(token, as: UserClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw .unauthorized(error.failedClaim is ExpirationClaim ? "token expired" : "token not valid yet")
        } catch {
            throw .unauthorized("invalid token")
        }
        guard Self.isUsableUserID(claims.sub.value) else {
            throw .unauthorized("the token's subject is not a usable user id")
        }
        return claims
    }

    /// The keys tokens are checked (and guest tokens signed) with.
    ///
    /// Guest mode reads the deployment's secret on every connection (one Redis command), so a secret
    /// that was lost with Redis's data and created anew is picked up by every gateway alike; while
    /// Redis is unreachable the last secret read keeps returning guests connected.
    private func signingKeys() async throws(UpgradeRefusal) -> JWTKeyCollection {
        switch mode {
        case .jwt(let configured):
            if let verifier { return verifier }
            return await install(Array(configured.utf8))
        case .guest:
            let secret: [UInt8]
            do {
                secret = try await GuestSecret.load(redis: redis, key: keys.guestSecret)
            } catch {
                if let verifier { return verifier }
                logger.warning("cannot load the guest secret from Redis", metadata: ["error": "\(error)"])
                throw .unavailable("cannot reach Redis")
            }
            if let verifier, secret == verifierSecret { return verifier }
            return await install(secret)
        }
    }

    private func install(_ secret: [UInt8]) async -> JWTKeyCollection {
        let collection = JWTKeyCollection()
        await collection.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        verifier = collection
        verifierSecret = secret
        return collection
    }

    /// User ids go into logs and Redis values: printable, no spaces, at most 256 bytes.
    static func isUsableUserID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 256 && !id.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
    }
}
