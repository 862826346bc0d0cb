import Foundation
import HeraldCore
import JWTKit
import Logging
import Redis

/// Decides who a connection or request belongs to, before anything else happens.
///
/// In JWT mode a token must be an HS256 JWT signed with `HERALD_JWT_SECRET`, or an asymmetric one signed with a key of
/// the identity provider's JWKS (`HERALD_JWT_JWKS_URL`); either way `TokenPolicy` checks its issuer, audience and
/// times and reads the user id. In guest mode a connection without a token becomes a new guest user (within
/// `GuestLimits`), and every connection gets a renewed guest token signed with the deployment's guest secret, which
/// lives in Redis so that any gateway of the deployment accepts a token another one issued.
public actor TokenAuthenticator {
    /// Where tokens come from.
    public enum Mode: Sendable {
        /// Tokens are issued elsewhere: signed with a shared secret (HS256), by an identity provider's keys, or both.
        case jwt(secret: String?, keys: JWKSKeySet?, policy: TokenPolicy)
        /// Tokens are guest tokens this deployment issues itself.
        case guest
        /// Neither JWT settings nor guests (`HERALD_GUESTS=off`): every request is refused, guest tokens issued
        /// before included, until the deployment is configured for tokens from elsewhere.
        case noGuests

    }

    public let mode: Mode
    private let redis: RedisClient
    private let keys: RedisKeys
    private let guestTokenLifetime: Duration
    private let guestLimits: GuestLimits
    private let logger: Logger
    private var hmacKeys: JWTKeyCollection?
    private var hmacSecret: [UInt8] = []

    init(mode: Mode, redis: RedisClient, keys: RedisKeys, guestTokenLifetime: Duration, guestLimits: GuestLimits, logger: Logger) {
        self.mode = mode
        self.redis = redis
        self.keys = keys
        self.guestTokenLifetime = guestTokenLifetime
        self.guestLimits = guestLimits
        self.logger = logger
    }

    /// The identity for a caller that presented `token` (nil when it presented none), from `clientAddress` (the key
    /// `ClientAddress.addressKey` made of its address).
    public func authenticate(token: String?, clientAddress: String) async throws(UpgradeRefusal) -> ConnectionIdentity {
        switch mode {
        case .jwt(let secret, let jwks, let policy):
            guard let token else { throw .unauthorized("a token is required") }
            let header = try TokenHeader(token: token)
            let verifier: JWTKeyCollection
            if header.algorithm == "HS256", let secret {
                verifier = await hmac(Array(secret.utf8))
            } else if header.algorithm != "HS256", let jwks {
                verifier = try await jwks.verifier(for: header)
            } else {
                // `none`, and HS256 where only an identity provider's public keys are trusted (algorithm confusion).
                throw .unauthorized("the token's algorithm (\(header.algorithm.prefix(20))) is not accepted")
            }
            let claims: TokenClaims
            do {
                claims = try await verifier.verify(token, as: TokenClaims.self)
            } catch {
                throw .unauthorized("invalid token")
            }
            return try policy.identity(from: claims.values, now: Date())
        case .noGuests:
            throw .unauthorized("a valid token is required: this deployment makes no guests (HERALD_GUESTS=off)")
        case .guest:
            let keys = try await guestSigningKeys()
            let userID: String
            if let token {
                userID = try await verifyGuest(token, with: keys)
            } else {
                try await admitNewGuest(from: clientAddress)
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

    /// Whether a run of `identity` may start now (nonisolated: it reads only constants, so a run pays no actor hop): always for users that are not guests; for a guest, within
    /// `HERALD_GUEST_RUNS_PER_HOUR`, counted until `withdraw` takes it back.
    nonisolated func admitRun(of identity: ConnectionIdentity) async -> RunAdmission {
        guard identity.guestToken != nil else { return .unlimited }
        do {
            return try await guestLimits.admitRun(of: identity.userID).map { .counted(entry: $0, userID: identity.userID) } ?? .refused
        } catch {
            // The run itself needs Redis: refusing here for a Redis failure would only hide the real error.
            logger.warning("cannot count a guest's runs", metadata: ["error": "\(error)"])
            return .unlimited
        }
    }

    /// Takes back an admission whose run was not queued after all.
    nonisolated func withdraw(_ admission: RunAdmission) async {
        guard case .counted(let entry, let userID) = admission else { return }
        do {
            try await guestLimits.withdrawRun(entry, of: userID)
        } catch {
            logger.warning("cannot take back a guest's run count", metadata: ["error": "\(error)"])
        }
    }

    /// Whether a run may start, and how it was counted.
    enum RunAdmission: Sendable, Equatable {
        case unlimited
        case counted(entry: String, userID: String)
        case refused
    }

    private func admitNewGuest(from address: String) async throws(UpgradeRefusal) {
        let admitted: Bool
        do {
            admitted = try await guestLimits.admitNewGuest(from: address)
        } catch {
            logger.warning("cannot count new guests", metadata: ["error": "\(error)"])
            throw .unavailable("cannot reach Redis")
        }
        guard admitted else {
            throw .tooManyRequests("too many new guests from this address; keep your guest token, or try again in a minute")
        }
    }

    private func verifyGuest(_ token: String, with keys: JWTKeyCollection) async throws(UpgradeRefusal) -> String {
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
        return claims.sub.value
    }

    private func hmac(_ secret: [UInt8]) async -> JWTKeyCollection {
        if let hmacKeys, secret == hmacSecret { return hmacKeys }
        let collection = JWTKeyCollection()
        await collection.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        hmacKeys = collection
        hmacSecret = secret
        return collection
    }

    /// The keys guest tokens are checked and signed with.
    ///
    /// Read on every connection (one Redis command), so a secret that was lost with Redis's data and created anew is
    /// picked up by every gateway alike; while Redis is unreachable the last secret read keeps returning guests
    /// connected.
    private func guestSigningKeys() async throws(UpgradeRefusal) -> JWTKeyCollection {
        let secret: [UInt8]
        do {
            secret = try await GuestSecret.load(redis: redis, key: keys.guestSecret)
        } catch {
            if let hmacKeys { return hmacKeys }
            logger.warning("cannot load the guest secret from Redis", metadata: ["error": "\(error)"])
            throw .unavailable("cannot reach Redis")
        }
        return await hmac(secret)
    }

    /// User ids go into logs and Redis values: printable, no spaces, at most 256 bytes.
    static func isUsableUserID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 256 && !id.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
    }
}
