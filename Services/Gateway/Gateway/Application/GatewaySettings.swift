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
        publicDirectory: String? = nil
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
        return GatewaySettings(
            common: try common.resolve(resolver),
            host: host,
            port: try resolver.int(port, env: "HERALD_PORT", default: 8080, in: 0...65535),
            jwtSecret: secret,
            maxFrameBytes: try resolver.int(maxFrameBytes, env: "HERALD_MAX_FRAME_BYTES", default: 65_536, in: 1024...16_777_216),
            outboundQueueBytes: try resolver.int(outboundQueueBytes, env: "HERALD_OUTBOUND_QUEUE_BYTES", default: 1_048_576, in: 16_384...1_073_741_824),
            guestTokenLifetime: .seconds(try resolver.int(guestTokenTTLSeconds, env: "HERALD_GUEST_TOKEN_TTL_SECONDS", default: 30 * 86_400, in: 60...31_536_000)),
            closeTimeout: .seconds(try resolver.int(closeTimeoutSeconds, env: "HERALD_CLOSE_TIMEOUT_SECONDS", default: 5, in: 1...300)),
            pingInterval: .seconds(try resolver.int(pingIntervalSeconds, env: "HERALD_PING_INTERVAL_SECONDS", default: 30, in: 1...3600)),
            publicDirectory: publicDirectory
        )
    }
}
