import ArgumentParser
import Gateway
import HeraldCore
import Logging
import Prometheus
import Redis
import ServiceLifecycle

/// `herald-gateway`: the WebSocket server for browsers, with the chat page, health and metrics.
@main
struct HeraldGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-gateway",
        abstract: "Serves the chat page and the herald.v1 WebSocket: authenticates, queues runs, streams each thread's events.",
        discussion: SettingsCatalogue.helpDiscussion
    )

    @OptionGroup var options: GatewayOptions

    func run() async throws {
        if let document = options.common.requestedDocument {
            print(document, terminator: "")
            return
        }
        let settings = try resolveSettings(of: "herald-gateway") { try options.resolve() }
        let logger = LoggingBootstrap.bootstrap(label: "herald-gateway", level: settings.common.logLevel)
        let registry = PrometheusCollectorRegistry()
        let redis = RedisClient(configuration: settings.common.redis, logger: logger)
        let subscriber = RedisSubscriber(configuration: settings.common.redis, logger: logger)
        let gateway = Gateway(settings: settings, redis: redis, subscriber: subscriber, registry: registry, logger: logger)
        logger.info(
            "gateway starting",
            metadata: [
                "address": "\(settings.host):\(settings.port)",
                "auth": "\(settings.authenticationMode)",
                "key_prefix": "\(settings.common.keys.prefix)",
            ]
        )
        // The client first, so it closes after every service that sends commands has stopped.
        let services: [any Service] =
            [RedisClientService(redis)]
            + gateway.services { port in
                logger.info("gateway listening", metadata: ["port": "\(port)"])
                await GuestModeRisk.gatewayStarted(makesGuests: settings.makesGuests, redis: redis, keys: settings.common.keys, logger: logger)
            }
        let group = HeraldServiceGroup.make(services: services, logger: logger)
        try await group.run()
        logger.info("gateway stopped")
    }
}
