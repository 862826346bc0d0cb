import ArgumentParser
import Foundation
import HeraldCore
import Logging
import Prometheus
import Redis
import ServiceLifecycle
import Worker

/// `herald-worker`: runs agent runs from the run queue and streams their events to the relay.
@main
struct HeraldWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-worker",
        abstract: "Runs agent runs (supervisor, sub-agents, language model, tools) from the run queue and streams every event to the relay.",
        discussion: SettingsCatalogue.helpDiscussion
    )

    @OptionGroup var options: WorkerOptions

    func run() async throws {
        if let document = options.common.requestedDocument {
            print(document, terminator: "")
            return
        }
        let (settings, docs) = try resolveSettings(of: "herald-worker") {
            let settings = try options.resolve()
            let docs = try settings.docsDirectory.map { directory in
                do {
                    return try DocsIndex.load(directory: directory)
                } catch {
                    throw SettingError(.docsDirectory, "cannot read \(directory.path): \(error)")
                }
            }
            return (settings, docs)
        }
        let logger = LoggingBootstrap.bootstrap(label: "herald-worker", level: settings.common.logLevel)
        if let docs, let directory = settings.docsDirectory {
            logger.info("docs indexed", metadata: ["dir": "\(directory.path)", "passages": "\(docs.passages.count)"])
        } else {
            logger.warning("no docs folder found; search_docs will say so (set \(SettingSpec.docsDirectory.name))")
        }

        var services: [any Service] = []
        let redis = RedisClient(configuration: settings.common.redis, logger: logger)
        services.append(RedisClientService(redis))
        let model: any LanguageModel
        if let llm = settings.languageModel {
            let provider = OpenAICompatibleModel(settings: llm, logger: logger)
            model = provider
            services.append(LanguageModelClientService(model: provider, logger: logger))
            // The base URL and model only: the API key never reaches a log.
            logger.info(
                "using an OpenAI-compatible model",
                metadata: [
                    "base_url": "\(llm.displayBaseURL)", "model": "\(llm.model)", "api_key": "\(llm.apiKey == nil ? "none" : "set")",
                ]
            )
        } else {
            model = OfflineModel(wordDelay: settings.offlineDelay)
            logger.info("using the offline model (set \(SettingSpec.llmBaseURL.name) for a real one)")
        }

        let modelName = settings.languageModel?.model
        let keys = settings.common.keys
        services.append(
            StartupTask("GuestModeRisk") {
                await GuestModeRisk.workerStarted(model: modelName, redis: redis, keys: keys, logger: logger)
            }
        )

        let registry = PrometheusCollectorRegistry()
        let worker = WorkerService(
            settings: settings,
            redis: redis,
            model: model,
            tools: ToolRegistry.standard(
                docs: docs ?? .empty,
                notes: NoteStore(redis: redis, keys: settings.common.keys, retentionSeconds: settings.common.threadRetentionSeconds),
                approvals: settings.approvals
            ),
            mcp: MCPToolbox(servers: settings.mcpServers, startTimeout: settings.mcpStartTimeout, registry: registry, logger: logger),
            metrics: WorkerMetrics(registry: registry),
            logger: logger
        )
        services.append(
            OperatorRoutes.application(host: settings.adminHost, port: settings.adminPort, redis: redis, registry: registry, logger: logger)
        )
        // Shut down in reverse order: the worker drains first while health and metrics stay up, then the
        // cancellations' connection, the model's HTTP client and the Redis client close.
        let group = HeraldServiceGroup.make(services: services + worker.services, logger: logger)
        try await group.run()
    }
}

/// Keeps the language model's HTTP client open while the group runs and shuts it down at the end, as the
/// client requires, after the worker's runs (later in the group) have stopped using it.
struct LanguageModelClientService: Service, CustomStringConvertible {
    let model: OpenAICompatibleModel
    let logger: Logger

    var description: String { "LanguageModelClientService" }

    func run() async throws {
        // Returns at graceful shutdown, throws when the group is cancelled: either way the client shuts down.
        try? await gracefulShutdown()
        do {
            try await model.shutdown()
        } catch {
            logger.warning("closing the model's HTTP client failed", metadata: ["error": "\(error)"])
        }
    }
}
