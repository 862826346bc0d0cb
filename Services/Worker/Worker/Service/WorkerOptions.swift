import ArgumentParser
import Foundation
import HeraldCore

/// The worker's own flags; each falls back to its `HERALD_…` environment variable.
public struct WorkerOptions: ParsableArguments, Sendable {
    @OptionGroup public var common: CommonOptions

    @Option(name: .customLong("worker-id"), help: "This worker's name in the run queue's consumer group; unique per process (HERALD_WORKER_ID; default a random id)")
    public var workerID: String?

    @Option(name: .customLong("concurrency"), help: "Runs executed at once (HERALD_WORKER_CONCURRENCY; default 8)")
    public var concurrency: Int?

    @Option(name: .customLong("offline-delay-ms"), help: "The offline model's pause before each streamed word, in milliseconds (HERALD_OFFLINE_DELAY_MS; default 20)")
    public var offlineDelayMs: Int?

    @Option(name: .customLong("docs-dir"), help: "Folder of markdown docs that search_docs searches (HERALD_DOCS_DIR; default ./docs, else a docs folder above the executable)")
    public var docsDirectory: String?

    @Option(name: .customLong("tool-timeout"), help: "Seconds a tool call may take unless the tool sets its own limit (HERALD_TOOL_TIMEOUT_SECONDS; default 30)")
    public var toolTimeoutSeconds: Int?

    @Option(name: .customLong("run-timeout"), help: "Seconds a whole run may take, 0 for no limit (HERALD_RUN_TIMEOUT_SECONDS; default 900)")
    public var runTimeoutSeconds: Int?

    @Option(name: .customLong("grace"), help: "Seconds a shutting-down worker lets its runs finish before cancelling them (HERALD_WORKER_GRACE_SECONDS; default 10)")
    public var graceSeconds: Int?

    @Option(name: .customLong("redis-retry"), help: "Seconds an event or a run's bookkeeping is retried while Redis fails (HERALD_REDIS_RETRY_SECONDS; default 30)")
    public var redisRetrySeconds: Int?

    @Option(name: .customLong("conversation-turns"), help: "Conversation turns kept per thread for later runs (HERALD_CONVERSATION_TURNS; default 40)")
    public var conversationTurns: Int?

    @Option(name: .customLong("admin-host"), help: "Address of the health and metrics server (HERALD_ADMIN_HOST; default 0.0.0.0)")
    public var adminHost: String?

    @Option(name: .customLong("admin-port"), help: "Port of the health and metrics server (HERALD_ADMIN_PORT; default 9091)")
    public var adminPort: Int?

    public init() {}

    /// Resolves flags, then the environment, then defaults; a bad value throws a `SettingError` naming it.
    public func resolve(
        _ resolver: SettingsResolver = SettingsResolver(),
        currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        executable: URL? = Bundle.main.executableURL
    ) throws -> WorkerSettings {
        let common = try common.resolve(resolver)
        let workerID = resolver.string(workerID, env: "HERALD_WORKER_ID", default: Identifier.make("worker"))
        guard !workerID.isEmpty, workerID.count <= 128, workerID.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) else {
            throw SettingError("HERALD_WORKER_ID: '\(workerID)' may hold only letters, digits, '-', '_', '.' and ':' (at most 128)")
        }
        let docs: URL?
        if let explicit = resolver.optionalString(docsDirectory, env: "HERALD_DOCS_DIR") {
            let url = URL(fileURLWithPath: explicit, relativeTo: currentDirectory).standardizedFileURL
            guard DocsLocator.containsMarkdown(url) else {
                throw SettingError("HERALD_DOCS_DIR: '\(explicit)' is not a folder holding markdown (.md) files")
            }
            docs = url
        } else {
            docs = DocsLocator.locate(currentDirectory: currentDirectory, executable: executable)
        }
        let runTimeout = try resolver.int(runTimeoutSeconds, env: "HERALD_RUN_TIMEOUT_SECONDS", default: 900, in: 0...86_400)
        return WorkerSettings(
            common: common,
            workerID: workerID,
            concurrency: try resolver.int(concurrency, env: "HERALD_WORKER_CONCURRENCY", default: 8, in: 1...1024),
            offlineDelay: .milliseconds(try resolver.int(offlineDelayMs, env: "HERALD_OFFLINE_DELAY_MS", default: 20, in: 0...60_000)),
            docsDirectory: docs,
            toolTimeout: .seconds(try resolver.int(toolTimeoutSeconds, env: "HERALD_TOOL_TIMEOUT_SECONDS", default: 30, in: 1...3600)),
            runTimeout: runTimeout == 0 ? nil : .seconds(runTimeout),
            gracePeriod: .seconds(try resolver.int(graceSeconds, env: "HERALD_WORKER_GRACE_SECONDS", default: 10, in: 0...3600)),
            redisRetry: .seconds(try resolver.int(redisRetrySeconds, env: "HERALD_REDIS_RETRY_SECONDS", default: 30, in: 1...3600)),
            conversationTurns: try resolver.int(conversationTurns, env: "HERALD_CONVERSATION_TURNS", default: 40, in: 2...10_000),
            adminHost: resolver.string(adminHost, env: "HERALD_ADMIN_HOST", default: "0.0.0.0"),
            adminPort: try resolver.int(adminPort, env: "HERALD_ADMIN_PORT", default: 9091, in: 0...65535)
        )
    }
}
