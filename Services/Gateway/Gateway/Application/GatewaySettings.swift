import ArgumentParser
import Foundation
import HeraldCore

/// Everything a gateway needs to know, resolved from flags and the environment.
public struct GatewaySettings: Sendable {
    public var common: CommonSettings
    /// Address the HTTP and WebSocket server binds (`HERALD_HOST`).
    public var host: String
    /// Port of the HTTP and WebSocket server (`HERALD_PORT`); 0 picks a free port.
    public var port: Int
    /// When set, HS256 JWTs signed with it are accepted (`HERALD_JWT_SECRET`, at least 32 bytes).
    public var jwtSecret: String?
    /// When set, tokens signed by the keys of this JSON Web Key Set are accepted (`HERALD_JWT_JWKS_URL`).
    public var jwksURL: URL?
    /// What an accepted JWT must also say (`HERALD_JWT_ISSUER`, `HERALD_JWT_AUDIENCE`, `HERALD_JWT_LEEWAY_SECONDS`,
    /// `HERALD_JWT_USER_CLAIM`).
    public var tokenPolicy: TokenPolicy
    /// Interval of JWKS fetches (`HERALD_JWT_JWKS_REFRESH_SECONDS`).
    public var jwksRefreshInterval: Duration
    /// Least time between JWKS fetches for tokens with an unknown `kid` (`HERALD_JWT_JWKS_MIN_REFRESH_SECONDS`).
    public var jwksMinimumRefreshGap: Duration
    /// Without JWT settings, whether connections without a token become guests (`HERALD_GUESTS`).
    public var guestsEnabled: Bool
    /// New guests one client address may make per minute (`HERALD_GUEST_NEW_PER_MINUTE`).
    public var newGuestsPerMinute: Int
    /// Runs one guest may start per hour (`HERALD_GUEST_RUNS_PER_HOUR`).
    public var guestRunsPerHour: Int
    /// Proxies whose `X-Forwarded-For` names the client (`HERALD_TRUSTED_PROXIES`).
    public var trustedProxies: [IPNetwork]
    /// Largest client frame (and message) accepted; a bigger one closes the socket with 1009 (`HERALD_MAX_FRAME_BYTES`).
    public var maxFrameBytes: Int
    /// Bytes a connection may have waiting to be written; past it the socket closes with 4008 (`HERALD_OUTBOUND_QUEUE_BYTES`).
    public var outboundQueueBytes: Int
    /// How long a guest token stays valid; every connection gets a renewed one (`HERALD_GUEST_TOKEN_TTL_SECONDS`).
    public var guestTokenLifetime: Duration
    /// How long the gateway waits for a client's close reply, and for sockets to drain at shutdown (`HERALD_CLOSE_TIMEOUT_SECONDS`).
    public var closeTimeout: Duration
    /// Interval of WebSocket pings that detect dead peers (`HERALD_PING_INTERVAL_SECONDS`).
    public var pingInterval: Duration
    /// Folder the chat page is served from instead of the bundled one (`HERALD_PUBLIC_DIR`).
    public var publicDirectory: String?
    /// Longest `content` of a `user_message`, in characters (Unicode code points); longer gets `too_large` (`HERALD_MAX_MESSAGE_CHARS`).
    public var maxMessageCharacters: Int
    /// Messages a connection may send per second on average; more get `rate_limited` (`HERALD_RATE_LIMIT_PER_SECOND`).
    public var rateLimitPerSecond: Int
    /// Messages a connection may send at once above that rate (`HERALD_RATE_LIMIT_BURST`).
    public var rateLimitBurst: Int
    /// Open WebSockets one user may have on this gateway; the next is closed with 4429 (`HERALD_MAX_CONNECTIONS_PER_USER`).
    public var maxConnectionsPerUser: Int
    /// Threads one connection may watch; a message that would watch one more gets `rate_limited` (`HERALD_MAX_THREADS_PER_CONNECTION`).
    public var maxThreadsPerConnection: Int
    /// Time from accepting a TCP connection to answering its request (the upgrade); past it the socket is dropped.
    /// Also how long a plain HTTP connection may wait idle for its next request, and each request has to arrive in
    /// full and be answered (`HERALD_UPGRADE_TIMEOUT_SECONDS`).
    public var upgradeTimeout: Duration
    /// Silence (no message, no pong) after which a WebSocket is closed with 1001 (`HERALD_IDLE_TIMEOUT_SECONDS`).
    public var idleTimeout: Duration
    /// Browser origins allowed to open a WebSocket; others get 403 (`HERALD_ALLOWED_ORIGINS`).
    public var allowedOrigins: OriginAllowList
    /// Largest request body of the standard stream endpoints (`POST /agui`, `POST /api/chat`), which carry the
    /// conversation; a bigger one gets 413 (`HERALD_MAX_REQUEST_BYTES`).
    public var maxRequestBytes: Int

    /// Whether tokens come from elsewhere (a shared secret or an identity provider's keys): then there are no guests.
    public var isJWTMode: Bool { jwtSecret != nil || jwksURL != nil }

    /// Whether connections without a token become guests.
    public var makesGuests: Bool { !isJWTMode && guestsEnabled }

    /// How users are told apart, for the start-up log line.
    public var authenticationMode: String {
        if isJWTMode { return [jwtSecret.map { _ in "hs256" }, jwksURL.map { "jwks \($0)" }].compactMap { $0 }.joined(separator: " + ") }
        return guestsEnabled ? "guest" : "guests off (every request needs a token)"
    }

    public init(
        common: CommonSettings,
        host: String = "0.0.0.0",
        port: Int = 8080,
        jwtSecret: String? = nil,
        jwksURL: URL? = nil,
        tokenPolicy: TokenPolicy = TokenPolicy(),
        jwksRefreshInterval: Duration = .seconds(300),
        jwksMinimumRefreshGap: Duration = .seconds(30),
        guestsEnabled: Bool = true,
        newGuestsPerMinute: Int = 20,
        guestRunsPerHour: Int = 60,
        trustedProxies: [IPNetwork] = [],
        maxFrameBytes: Int = 65_536,
        outboundQueueBytes: Int = 1_048_576,
        guestTokenLifetime: Duration = .seconds(30 * 86_400),
        closeTimeout: Duration = .seconds(5),
        pingInterval: Duration = .seconds(30),
        publicDirectory: String? = nil,
        maxMessageCharacters: Int = 16_000,
        rateLimitPerSecond: Int = 10,
        rateLimitBurst: Int = 40,
        maxConnectionsPerUser: Int = 20,
        maxThreadsPerConnection: Int = 100,
        upgradeTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(90),
        allowedOrigins: OriginAllowList = .any,
        maxRequestBytes: Int = 1_048_576
    ) {
        self.common = common
        self.host = host
        self.port = port
        self.jwtSecret = jwtSecret
        self.jwksURL = jwksURL
        self.tokenPolicy = tokenPolicy
        self.jwksRefreshInterval = jwksRefreshInterval
        self.jwksMinimumRefreshGap = jwksMinimumRefreshGap
        self.guestsEnabled = guestsEnabled
        self.newGuestsPerMinute = newGuestsPerMinute
        self.guestRunsPerHour = guestRunsPerHour
        self.trustedProxies = trustedProxies
        self.maxFrameBytes = maxFrameBytes
        self.outboundQueueBytes = outboundQueueBytes
        self.guestTokenLifetime = guestTokenLifetime
        self.closeTimeout = closeTimeout
        self.pingInterval = pingInterval
        self.publicDirectory = publicDirectory
        self.maxMessageCharacters = maxMessageCharacters
        self.rateLimitPerSecond = rateLimitPerSecond
        self.rateLimitBurst = rateLimitBurst
        self.maxConnectionsPerUser = maxConnectionsPerUser
        self.maxThreadsPerConnection = maxThreadsPerConnection
        self.upgradeTimeout = upgradeTimeout
        self.idleTimeout = idleTimeout
        self.allowedOrigins = allowedOrigins
        self.maxRequestBytes = maxRequestBytes
    }
}

/// The gateway's own flags.
public struct GatewayOptions: ParsableArguments, Sendable {
    @OptionGroup public var common: CommonOptions

    @Option(name: .setting(.host), help: .setting(.host))
    public var host: String?

    @Option(name: .setting(.port), help: .setting(.port))
    public var port: String?

    @Option(name: .setting(.jwtSecret), help: .setting(.jwtSecret))
    public var jwtSecret: String?

    @Option(name: .setting(.jwtJWKSURL), help: .setting(.jwtJWKSURL))
    public var jwtJWKSURL: String?

    @Option(name: .setting(.jwtIssuer), help: .setting(.jwtIssuer))
    public var jwtIssuer: String?

    @Option(name: .setting(.jwtAudience), help: .setting(.jwtAudience))
    public var jwtAudience: String?

    @Option(name: .setting(.jwtUserClaim), help: .setting(.jwtUserClaim))
    public var jwtUserClaim: String?

    @Option(name: .setting(.jwtLeewaySeconds), help: .setting(.jwtLeewaySeconds))
    public var jwtLeewaySeconds: String?

    @Option(name: .setting(.jwtJWKSRefreshSeconds), help: .setting(.jwtJWKSRefreshSeconds))
    public var jwtJWKSRefreshSeconds: String?

    @Option(name: .setting(.jwtJWKSMinRefreshSeconds), help: .setting(.jwtJWKSMinRefreshSeconds))
    public var jwtJWKSMinRefreshSeconds: String?

    @Option(name: .setting(.guests), help: .setting(.guests))
    public var guests: String?

    @Option(name: .setting(.guestNewPerMinute), help: .setting(.guestNewPerMinute))
    public var guestNewPerMinute: String?

    @Option(name: .setting(.guestRunsPerHour), help: .setting(.guestRunsPerHour))
    public var guestRunsPerHour: String?

    @Option(name: .setting(.trustedProxies), help: .setting(.trustedProxies))
    public var trustedProxies: String?

    @Option(name: .setting(.maxFrameBytes), help: .setting(.maxFrameBytes))
    public var maxFrameBytes: String?

    @Option(name: .setting(.outboundQueueBytes), help: .setting(.outboundQueueBytes))
    public var outboundQueueBytes: String?

    @Option(name: .setting(.guestTokenTTLSeconds), help: .setting(.guestTokenTTLSeconds))
    public var guestTokenTTLSeconds: String?

    @Option(name: .setting(.closeTimeoutSeconds), help: .setting(.closeTimeoutSeconds))
    public var closeTimeoutSeconds: String?

    @Option(name: .setting(.pingIntervalSeconds), help: .setting(.pingIntervalSeconds))
    public var pingIntervalSeconds: String?

    @Option(name: .setting(.publicDirectory), help: .setting(.publicDirectory))
    public var publicDirectory: String?

    @Option(name: .setting(.maxMessageCharacters), help: .setting(.maxMessageCharacters))
    public var maxMessageCharacters: String?

    @Option(name: .setting(.rateLimitPerSecond), help: .setting(.rateLimitPerSecond))
    public var rateLimitPerSecond: String?

    @Option(name: .setting(.rateLimitBurst), help: .setting(.rateLimitBurst))
    public var rateLimitBurst: String?

    @Option(name: .setting(.maxConnectionsPerUser), help: .setting(.maxConnectionsPerUser))
    public var maxConnectionsPerUser: String?

    @Option(name: .setting(.maxThreadsPerConnection), help: .setting(.maxThreadsPerConnection))
    public var maxThreadsPerConnection: String?

    @Option(name: .setting(.upgradeTimeoutSeconds), help: .setting(.upgradeTimeoutSeconds))
    public var upgradeTimeoutSeconds: String?

    @Option(name: .setting(.idleTimeoutSeconds), help: .setting(.idleTimeoutSeconds))
    public var idleTimeoutSeconds: String?

    @Option(name: .setting(.allowedOrigins), help: .setting(.allowedOrigins))
    public var allowedOrigins: String?

    @Option(name: .setting(.maxRequestBytes), help: .setting(.maxRequestBytes))
    public var maxRequestBytes: String?

    public init() {}

    public func resolve(_ resolver: SettingsResolver = SettingsResolver()) throws -> GatewaySettings {
        let host = try resolver.string(.host, flag: host)
        guard !host.isEmpty, !host.contains(where: \.isWhitespace) else {
            throw SettingError(.host, "'\(host)' is not an address")
        }
        let secret = try resolver.optionalString(.jwtSecret, flag: jwtSecret)
        // HS256 needs a key at least as long as its 32-byte hash; jwt-kit refuses shorter ones.
        if let secret, secret.utf8.count < 32 {
            throw SettingError(.jwtSecret, "must be at least 32 bytes long (HS256), got \(secret.utf8.count)")
        }
        let jwks = try resolveJWKS(resolver)
        let publicDirectory = try resolver.optionalString(.publicDirectory, flag: publicDirectory)
        if let publicDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: publicDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw SettingError(.publicDirectory, "'\(publicDirectory)' is not a folder")
            }
        }
        let pingInterval = try resolver.int(.pingIntervalSeconds, flag: pingIntervalSeconds)
        let idleTimeout = try resolver.int(.idleTimeoutSeconds, flag: idleTimeoutSeconds)
        // A live client is heard from only when it answers a ping: a shorter idle timeout would cut quiet but healthy sockets.
        guard idleTimeout > pingInterval else {
            throw SettingError(
                .idleTimeoutSeconds,
                "\(idleTimeout) must be longer than \(SettingSpec.pingIntervalSeconds.name) (\(pingInterval)), or quiet clients that answer every ping are cut"
            )
        }
        let allowedOrigins: OriginAllowList
        do {
            allowedOrigins = try OriginAllowList(parsing: try resolver.optionalString(.allowedOrigins, flag: self.allowedOrigins) ?? "")
        } catch {
            throw SettingError(.allowedOrigins, "\(error)")
        }
        return GatewaySettings(
            common: try common.resolve(resolver),
            host: host,
            port: try resolver.int(.port, flag: port),
            jwtSecret: secret,
            jwksURL: jwks.url,
            tokenPolicy: jwks.policy,
            jwksRefreshInterval: .seconds(try resolver.int(.jwtJWKSRefreshSeconds, flag: jwtJWKSRefreshSeconds)),
            jwksMinimumRefreshGap: .seconds(try resolver.int(.jwtJWKSMinRefreshSeconds, flag: jwtJWKSMinRefreshSeconds)),
            guestsEnabled: try resolveGuests(resolver),
            newGuestsPerMinute: try resolver.int(.guestNewPerMinute, flag: guestNewPerMinute),
            guestRunsPerHour: try resolver.int(.guestRunsPerHour, flag: guestRunsPerHour),
            trustedProxies: try resolveTrustedProxies(resolver),
            maxFrameBytes: try resolver.int(.maxFrameBytes, flag: maxFrameBytes),
            outboundQueueBytes: try resolver.int(.outboundQueueBytes, flag: outboundQueueBytes),
            guestTokenLifetime: .seconds(try resolver.int(.guestTokenTTLSeconds, flag: guestTokenTTLSeconds)),
            closeTimeout: .seconds(try resolver.int(.closeTimeoutSeconds, flag: closeTimeoutSeconds)),
            pingInterval: .seconds(pingInterval),
            publicDirectory: publicDirectory,
            maxMessageCharacters: try resolver.int(.maxMessageCharacters, flag: maxMessageCharacters),
            rateLimitPerSecond: try resolver.int(.rateLimitPerSecond, flag: rateLimitPerSecond),
            rateLimitBurst: try resolver.int(.rateLimitBurst, flag: rateLimitBurst),
            maxConnectionsPerUser: try resolver.int(.maxConnectionsPerUser, flag: maxConnectionsPerUser),
            maxThreadsPerConnection: try resolver.int(.maxThreadsPerConnection, flag: maxThreadsPerConnection),
            upgradeTimeout: .seconds(try resolver.int(.upgradeTimeoutSeconds, flag: upgradeTimeoutSeconds)),
            idleTimeout: .seconds(idleTimeout),
            allowedOrigins: allowedOrigins,
            maxRequestBytes: try resolver.int(.maxRequestBytes, flag: maxRequestBytes)
        )
    }

    /// The JWKS URL and the policy every JWT is checked against.
    private func resolveJWKS(_ resolver: SettingsResolver) throws -> (url: URL?, policy: TokenPolicy) {
        var url: URL?
        if let text = try resolver.optionalString(.jwtJWKSURL, flag: jwtJWKSURL)?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard let parsed = URL(string: text), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
                let host = parsed.host
            else {
                throw SettingError(.jwtJWKSURL, "'\(text.prefix(200))' is not an http(s) URL")
            }
            // Whoever can change the key set in transit can sign in as anyone.
            guard scheme == "https" || ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased()) else {
                throw SettingError(
                    .jwtJWKSURL,
                    "must be https: over plain http anyone on the way could replace the keys (http is accepted on loopback only)"
                )
            }
            url = parsed
        }
        let issuer = try resolver.optionalString(.jwtIssuer, flag: jwtIssuer)?.trimmingCharacters(in: .whitespaces)
        let audiences = (try resolver.optionalString(.jwtAudience, flag: jwtAudience) ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if url != nil {
            // One provider's keys sign the tokens of all its tenants and applications: without these checks, a token
            // it issued for another application would sign in here.
            guard let issuer, !issuer.isEmpty else {
                throw SettingError(.jwtIssuer, "is required with \(SettingSpec.jwtJWKSURL.name): the issuer whose tokens are accepted")
            }
            guard !audiences.isEmpty else {
                throw SettingError(.jwtAudience, "is required with \(SettingSpec.jwtJWKSURL.name): this deployment's audience")
            }
        }
        let claim = try resolver.string(.jwtUserClaim, flag: jwtUserClaim).trimmingCharacters(in: .whitespaces)
        guard !claim.isEmpty else { throw SettingError(.jwtUserClaim, "must name a claim") }
        let policy = TokenPolicy(
            issuer: issuer.flatMap { $0.isEmpty ? nil : $0 },
            audiences: audiences,
            leeway: .seconds(try resolver.int(.jwtLeewaySeconds, flag: jwtLeewaySeconds)),
            userClaim: claim,
            requiresExpiry: url != nil
        )
        return (url, policy)
    }

    private func resolveTrustedProxies(_ resolver: SettingsResolver) throws -> [IPNetwork] {
        let text = try resolver.optionalString(.trustedProxies, flag: trustedProxies) ?? ""
        return try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { entry in
            guard let network = IPNetwork(Substring(entry)) else {
                throw SettingError(.trustedProxies, "'\(entry.prefix(60))' is not an address or a CIDR network")
            }
            return network
        }
    }

    private func resolveGuests(_ resolver: SettingsResolver) throws -> Bool {
        switch try resolver.string(.guests, flag: guests).trimmingCharacters(in: .whitespaces).lowercased() {
        case "on", "true", "1", "yes": return true
        case "off", "false", "0", "no": return false
        case let other: throw SettingError(.guests, "'\(other.prefix(50))' is neither on nor off")
        }
    }

}
