import ArgumentParser
import HeraldCore
import Hummingbird
import Logging
import Prometheus
import Redis
import Relay
import ServiceLifecycle

/// `herald-relay`: orders, de-duplicates, stores and publishes each thread's events.
@main
struct HeraldRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-relay",
        abstract: "Turns the workers' event streams into each thread's ordered, persisted, published event log.",
        discussion: SettingsCatalogue.helpDiscussion
    )

    @OptionGroup var options: RelayOptions

    func run() async throws {
        if let document = options.common.requestedDocument {
            print(document, terminator: "")
            return
        }
        let settings = try resolveSettings(of: "herald-relay") { try options.resolve() }
        let logger = LoggingBootstrap.bootstrap(label: "herald-relay", level: settings.common.logLevel)
        let registry = PrometheusCollectorRegistry()
        let metrics = RelayMetrics(registry: registry)
        let redis = RedisClient(configuration: settings.common.redis, logger: logger)
        // Shut down in reverse: the relay releases its leases first, Redis closes last, health answers until then.
        let services: [any Service] = [
            RedisClientService(redis),
            OperatorRoutes.application(host: settings.adminHost, port: settings.adminPort, redis: redis, registry: registry, logger: logger),
            BacklogObserver(settings: settings, redis: redis, metrics: metrics, logger: logger),
            WorkerLostWatchdog(settings: settings, redis: redis, metrics: metrics, logger: logger),
            RelayService(settings: settings, redis: redis, metrics: metrics, logger: logger),
        ]
        let group = HeraldServiceGroup.make(services: services, logger: logger)
        try await group.run()
    }
}
