import Foundation
import HeraldCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
import Redis
import ServiceLifecycle

/// herald-gateway: the WebSocket endpoint browsers talk to, the chat page, health and metrics, on one port.
///
/// Build it, then run `services()` in one `ServiceGroup`, after a `RedisClientService` for its client. Shutdown
/// goes through them in reverse: every socket is closed with 1001 first, then the HTTP server stops, then the
/// pub/sub connection, then the client.
public struct Gateway: Sendable {
    public let settings: GatewaySettings
    let redis: RedisClient
    let subscriber: RedisSubscriber
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    let connections: ConnectionServices
    let authenticator: TokenAuthenticator
    /// The identity provider's keys, when tokens are checked against a JWKS.
    let jwks: JWKSKeySet?

    public init(settings: GatewaySettings, redis: RedisClient, subscriber: RedisSubscriber, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.settings = settings
        self.redis = redis
        self.subscriber = subscriber
        self.registry = registry
        self.logger = logger
        let metrics = GatewayMetrics(registry: registry)
        let keys = settings.common.keys
        self.jwks = settings.jwksURL.map { url in
            JWKSKeySet(
                url: url,
                refreshInterval: settings.jwksRefreshInterval,
                minimumRefreshGap: settings.jwksMinimumRefreshGap,
                registry: registry,
                logger: logger
            )
        }
        let mode: TokenAuthenticator.Mode =
            if settings.jwtSecret != nil || jwks != nil {
                .jwt(secret: settings.jwtSecret, keys: jwks, policy: settings.tokenPolicy)
            } else {
                settings.guestsEnabled ? .guest : .noGuests
            }
        self.authenticator = TokenAuthenticator(
            mode: mode,
            redis: redis,
            keys: keys,
            guestTokenLifetime: settings.guestTokenLifetime,
            guestLimits: GuestLimits(
                newGuestsPerMinute: settings.newGuestsPerMinute,
                runsPerHour: settings.guestRunsPerHour,
                redis: redis,
                keys: keys
            ),
            logger: logger
        )
        self.connections = ConnectionServices(
            settings: settings,
            runs: RunStore(
                redis: redis,
                keys: keys,
                ttlSeconds: settings.common.historyTTLSeconds,
                retentionSeconds: settings.common.threadRetentionSeconds,
                partitions: settings.common.eventPartitions,
                logger: logger
            ),
            history: ThreadHistory(redis: redis, keys: keys),
            fanout: ThreadFanout(subscriber: subscriber, keys: keys, metrics: metrics, logger: logger),
            registry: ConnectionRegistry(maxConnectionsPerUser: settings.maxConnectionsPerUser),
            authenticator: authenticator,
            metrics: metrics,
            logger: logger
        )
    }

    /// The services to run together, in start order. `onServerRunning` receives the bound port.
    public func services(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        let keys: [any Service] = jwks.map { [$0] } ?? []
        return keys + [
            RedisSubscriberService(subscriber),
            makeApplication(onServerRunning: onServerRunning),
            ConnectionDrainService(registry: connections.registry, closeTimeout: settings.closeTimeout, logger: logger),
        ]
    }

    /// Number of open WebSocket connections.
    public var connectionCount: Int {
        get async { await connections.registry.count }
    }

    /// Number of threads this gateway is subscribed to.
    public var watchedThreadCount: Int {
        get async { await connections.fanout.watchedThreadCount }
    }

    private func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void) -> some Service {
        let router = Router(context: GatewayRequestContext.self)
        let streams = StandardStreams(authenticator: authenticator, services: connections)
        // Before the files: a stream request that follows others on a kept-alive connection.
        router.add(middleware: StandardStreamMiddleware(streams: streams))
        router.add(middleware: APINotFoundMiddleware())
        router.add(middleware: TypeScriptDeclarationsMiddleware())
        // Pages and scripts change with deployments: browsers revalidate instead of running a stale copy.
        let noCache = CacheControl([(.text, [.noCache]), (.application, [.noCache])])
        router.add(middleware: FileMiddleware(publicDirectory(), cacheControl: noCache, searchForIndexHtml: true, logger: logger))
        OperatorRoutes.add(to: router, redis: redis, registry: registry, readiness: jwks.map { [JWKSReadiness(keys: $0)] } ?? [])
        let common = settings.common
        ThreadRoutes(
            store: ThreadStore(
                redis: redis,
                keys: common.keys,
                retentionSeconds: common.threadRetentionSeconds,
                runs: connections.runs,
                runEndWait: .seconds(common.runLeaseSeconds + 5)
            ),
            authenticator: authenticator,
            limiter: UserRateLimiter(ratePerSecond: settings.rateLimitPerSecond, burst: settings.rateLimitBurst, clock: ContinuousClock()),
            maxRequestBytes: settings.maxRequestBytes,
            logger: logger
        ).add(to: router)

        let gate = WebSocketGate(authenticator: authenticator, connections: connections, allowedOrigins: settings.allowedOrigins)
        let settings = self.settings
        let connections = self.connections
        let logger = self.logger
        let server = HTTPServerBuilder { responder in
            TimeoutChildChannel(
                // A keep-alive HTTP connection (page, health, metrics) may wait for its next request as long as a new one may take to send its first.
                base: GatewayChildChannel(
                    responder: responder,
                    httpIdleTimeout: settings.upgradeTimeout,
                    gate: gate,
                    services: connections,
                    streams: streams
                ),
                upgradeTimeout: settings.upgradeTimeout,
                pingInterval: settings.pingInterval,
                idleTimeout: settings.idleTimeout,
                metrics: connections.metrics,
                logger: logger
            )
        }
        return Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: "herald-gateway"),
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? 0)
            },
            logger: logger
        )
    }

    private func publicDirectory() -> String {
        if let folder = settings.publicDirectory { return folder }
        return Bundle.module.url(forResource: "Public", withExtension: nil)?.path ?? Bundle.module.bundlePath + "/Public"
    }
}
