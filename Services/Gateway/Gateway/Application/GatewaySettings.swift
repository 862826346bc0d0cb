import Foundation
import ArgumentParser
import HeraldCore

/// Everything a gateway needs to know, resolved from flags and the environment.
public struct GatewaySettings: Sendable {
    public var common: CommonSettings
    /// Address the HTTP and WebSocket server binds (`HERALD_HOST`).
    public var host: String
    /// Port of the HTTP and WebSocket server (`HERALD_PORT`); 0 picks a free port.
    public var port: Int
    /// When set, only HS256 JWTs signed with it are accepted (`HERALD_JWT_SECRET`, at least 32 bytes); otherwise guest mode.
    public var jwtSecret: String?
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

    public init(
        common: CommonSettings,
        host: String = "0.0.0.0",
        port: Int = 8080,
        jwtSecret: String? = nil,
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

    @Option(name: .customLong("host"), help: "Address the HTTP and WebSocket server binds (HERALD_HOST; default 0.0.0.0)")
    public var host: String?

    @Option(name: .customLong("port"), help: "Port of the HTTP and WebSocket server; 0 picks a free one (HERALD_PORT; default 8080)")
    public var port: Int?

    @Option(name: .customLong("jwt-secret"), help: "Accept only HS256 JWTs signed with this secret (at least 32 bytes), user id in 'sub'; unset means guest mode (HERALD_JWT_SECRET)")
    public var jwtSecret: String?

    @Option(name: .customLong("max-frame-bytes"), help: "Largest client message; a bigger one closes the socket with 1009 (HERALD_MAX_FRAME_BYTES; default 65536)")
    public var maxFrameBytes: Int?

    @Option(name: .customLong("outbound-queue-bytes"), help: "Bytes a socket may have waiting to be sent before it is closed with 4008 as a slow consumer (HERALD_OUTBOUND_QUEUE_BYTES; default 1048576)")
    public var outboundQueueBytes: Int?

    @Option(name: .customLong("guest-token-ttl"), help: "Seconds a guest token stays valid; each connection gets a renewed one (HERALD_GUEST_TOKEN_TTL_SECONDS; default 2592000)")
    public var guestTokenTTLSeconds: Int?

    @Option(name: .customLong("close-timeout"), help: "Seconds to wait for a client's close reply, and for sockets to drain at shutdown (HERALD_CLOSE_TIMEOUT_SECONDS; default 5)")
    public var closeTimeoutSeconds: Int?

    @Option(name: .customLong("ping-interval"), help: "Seconds between WebSocket pings that detect dead peers (HERALD_PING_INTERVAL_SECONDS; default 30)")
    public var pingIntervalSeconds: Int?

    @Option(name: .customLong("public-dir"), help: "Serve the chat page from this folder instead of the bundled copy (HERALD_PUBLIC_DIR)")
    public var publicDirectory: String?

    @Option(name: .customLong("max-message-chars"), help: "Longest user_message content in characters; longer gets a too_large error (HERALD_MAX_MESSAGE_CHARS; default 16000)")
    public var maxMessageCharacters: Int?

    @Option(name: .customLong("rate-limit-per-second"), help: "Messages per second one connection may send on average; more get rate_limited (HERALD_RATE_LIMIT_PER_SECOND; default 10)")
    public var rateLimitPerSecond: Int?

    @Option(name: .customLong("rate-limit-burst"), help: "Messages one connection may send at once above that rate (HERALD_RATE_LIMIT_BURST; default 40)")
    public var rateLimitBurst: Int?

    @Option(name: .customLong("max-connections-per-user"), help: "Open WebSockets one user may have on this gateway; the next is closed with 4429 (HERALD_MAX_CONNECTIONS_PER_USER; default 20)")
    public var maxConnectionsPerUser: Int?

    @Option(name: .customLong("max-threads-per-connection"), help: "Threads one connection may watch; one more gets rate_limited (HERALD_MAX_THREADS_PER_CONNECTION; default 100)")
    public var maxThreadsPerConnection: Int?

    @Option(name: .customLong("upgrade-timeout"), help: "Seconds a new connection has to complete its request (the WebSocket upgrade), and a plain HTTP connection may wait for its next one (HERALD_UPGRADE_TIMEOUT_SECONDS; default 10)")
    public var upgradeTimeoutSeconds: Int?

    @Option(name: .customLong("idle-timeout"), help: "Seconds of silence from a client (no message, no pong) before its WebSocket is closed with 1001; longer than the ping interval (HERALD_IDLE_TIMEOUT_SECONDS; default 90)")
    public var idleTimeoutSeconds: Int?

    @Option(name: .customLong("allowed-origins"), help: "Comma-separated browser origins (https://chat.example.com) allowed to open a WebSocket, others get 403; empty or * allows any; requests without Origin are allowed (HERALD_ALLOWED_ORIGINS)")
    public var allowedOrigins: String?

    @Option(name: .customLong("max-request-bytes"), help: "Largest request body of POST /agui and POST /api/chat, which carry the conversation; bigger gets 413 (HERALD_MAX_REQUEST_BYTES; default 1048576)")
    public var maxRequestBytes: Int?

    public init() {}

    public func resolve(_ resolver: SettingsResolver = SettingsResolver()) throws -> GatewaySettings {
        let host = resolver.string(host, env: "HERALD_HOST", default: "0.0.0.0")
        guard !host.isEmpty, !host.contains(where: \.isWhitespace) else {
            throw SettingError("HERALD_HOST: '\(host)' is not an address")
        }
        let secret = resolver.optionalString(jwtSecret, env: "HERALD_JWT_SECRET")
        // HS256 needs a key at least as long as its 32-byte hash; jwt-kit refuses shorter ones.
        if let secret, secret.utf8.count < 32 {
            throw SettingError("HERALD_JWT_SECRET: must be at least 32 bytes long (HS256), got \(secret.utf8.count)")
        }
        let publicDirectory = resolver.optionalString(publicDirectory, env: "HERALD_PUBLIC_DIR")
        if let publicDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: publicDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw SettingError("HERALD_PUBLIC_DIR: '\(publicDirectory)' is not a folder")
            }
        }
        let pingInterval = try resolver.int(pingIntervalSeconds, env: "HERALD_PING_INTERVAL_SECONDS", default: 30, in: 1...3600)
        let idleTimeout = try resolver.int(idleTimeoutSeconds, env: "HERALD_IDLE_TIMEOUT_SECONDS", default: 90, in: 2...86_400)
        // A live client is heard from only when it answers a ping: a shorter idle timeout would cut quiet but healthy sockets.
        guard idleTimeout > pingInterval else {
            throw SettingError("HERALD_IDLE_TIMEOUT_SECONDS: \(idleTimeout) must be longer than HERALD_PING_INTERVAL_SECONDS (\(pingInterval)), or quiet clients that answer every ping are cut")
        }
        let allowedOrigins: OriginAllowList
        do {
            allowedOrigins = try OriginAllowList(parsing: resolver.optionalString(self.allowedOrigins, env: "HERALD_ALLOWED_ORIGINS") ?? "")
        } catch {
            throw SettingError("HERALD_ALLOWED_ORIGINS: \(error)")
        }
        return GatewaySettings(
            common: try common.resolve(resolver),
            host: host,
            port: try resolver.int(port, env: "HERALD_PORT", default: 8080, in: 0...65535),
            jwtSecret: secret,
            maxFrameBytes: try resolver.int(maxFrameBytes, env: "HERALD_MAX_FRAME_BYTES", default: 65_536, in: 1024...16_777_216),
            outboundQueueBytes: try resolver.int(outboundQueueBytes, env: "HERALD_OUTBOUND_QUEUE_BYTES", default: 1_048_576, in: 16_384...1_073_741_824),
            guestTokenLifetime: .seconds(try resolver.int(guestTokenTTLSeconds, env: "HERALD_GUEST_TOKEN_TTL_SECONDS", default: 30 * 86_400, in: 60...31_536_000)),
            closeTimeout: .seconds(try resolver.int(closeTimeoutSeconds, env: "HERALD_CLOSE_TIMEOUT_SECONDS", default: 5, in: 1...300)),
            pingInterval: .seconds(pingInterval),
            publicDirectory: publicDirectory,
            maxMessageCharacters: try resolver.int(maxMessageCharacters, env: "HERALD_MAX_MESSAGE_CHARS", default: 16_000, in: 1...16_777_216),
            rateLimitPerSecond: try resolver.int(rateLimitPerSecond, env: "HERALD_RATE_LIMIT_PER_SECOND", default: 10, in: 1...1_000_000),
            rateLimitBurst: try resolver.int(rateLimitBurst, env: "HERALD_RATE_LIMIT_BURST", default: 40, in: 1...1_000_000),
            maxConnectionsPerUser: try resolver.int(maxConnectionsPerUser, env: "HERALD_MAX_CONNECTIONS_PER_USER", default: 20, in: 1...1_000_000),
            maxThreadsPerConnection: try resolver.int(maxThreadsPerConnection, env: "HERALD_MAX_THREADS_PER_CONNECTION", default: 100, in: 1...1_000_000),
            upgradeTimeout: .seconds(try resolver.int(upgradeTimeoutSeconds, env: "HERALD_UPGRADE_TIMEOUT_SECONDS", default: 10, in: 1...3600)),
            idleTimeout: .seconds(idleTimeout),
            allowedOrigins: allowedOrigins,
            maxRequestBytes: try resolver.int(maxRequestBytes, env: "HERALD_MAX_REQUEST_BYTES", default: 1_048_576, in: 1024...268_435_456)
        )
    }
}
