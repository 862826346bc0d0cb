import Hummingbird
import Logging
import Prometheus
import Redis

/// Something besides Redis a service needs to serve, reported by `/readyz`.
public protocol ReadinessCheck: Sendable {
    /// Whether the service can serve, and one line on where it stands (`name: detail`).
    func check() async -> (isReady: Bool, detail: String)
}

/// The HTTP surface every service offers operators (DESIGN.md section 7):
/// `/healthz` (alive), `/readyz` (Redis reachable and every `ReadinessCheck` ready, else 503; a line per check
/// follows the first), `/metrics` (Prometheus text).
public enum OperatorRoutes {
    public static func add<Context: RequestContext>(
        to router: Router<Context>,
        redis: RedisClient,
        registry: PrometheusCollectorRegistry,
        readiness: [any ReadinessCheck] = []
    ) {
        let connectionsOpened = registry.gauge(
            "herald_redis_connections_opened",
            help: "Connections this process has opened to Redis; a rise after start-up means connections were lost and re-made"
        )
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("readyz") { _, _ in
            do {
                try await redis.ping()
                var ready = true
                var details = ""
                for check in readiness {
                    let (isReady, detail) = await check.check()
                    ready = ready && isReady
                    details += detail + "\n"
                }
                return Response(
                    status: ready ? .ok : .serviceUnavailable,
                    headers: [.contentType: "text/plain"],
                    body: .init(byteBuffer: ByteBuffer(string: (ready ? "ready\n" : "not ready\n") + details))
                )
            } catch {
                return Response(
                    status: .serviceUnavailable,
                    headers: [.contentType: "text/plain"],
                    body: .init(byteBuffer: ByteBuffer(string: "redis unreachable: \(error)\n"))
                )
            }
        }
        router.get("metrics") { _, _ in
            connectionsOpened.set(Int64(RedisStatistics.connectionsOpened))
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16 * 1024)
            registry.emit(into: &bytes)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// A small HTTP server with only the operator routes, for the worker and the relay (`HERALD_ADMIN_PORT`).
    public static func application(
        host: String,
        port: Int,
        redis: RedisClient,
        registry: PrometheusCollectorRegistry,
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        add(to: router, redis: redis, registry: registry)
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "herald"), logger: logger)
    }
}
