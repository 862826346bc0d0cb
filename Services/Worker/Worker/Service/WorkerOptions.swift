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

    @Option(name: .customLong("stream-coalesce-ms"), help: "Least milliseconds between two partial_result events of an answer; text streamed meanwhile is merged, the first delta goes at once; 0 sends every delta (HERALD_STREAM_COALESCE_MS; default 40)")
    public var streamCoalesceMs: Int?

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

    @Option(name: .customLong("llm-base-url"), help: "OpenAI-compatible API root, e.g. https://api.openai.com/v1 or http://localhost:11434/v1 (HERALD_LLM_BASE_URL; unset: the built-in offline model)")
    public var llmBaseURL: String?

    @Option(name: .customLong("llm-api-key"), help: "API key sent as a bearer token; prefer the environment, flags show in process lists (HERALD_LLM_API_KEY; unset: no Authorization header)")
    public var llmAPIKey: String?

    @Option(name: .customLong("llm-model"), help: "The model's name on that server; required with a base URL (HERALD_LLM_MODEL)")
    public var llmModel: String?

    @Option(name: .customLong("llm-connect-timeout"), help: "Seconds to connect to the model server (HERALD_LLM_CONNECT_TIMEOUT_SECONDS; default 10)")
    public var llmConnectTimeoutSeconds: Int?

    @Option(name: .customLong("llm-first-token-timeout"), help: "Seconds from a model request to its first streamed event (HERALD_LLM_FIRST_TOKEN_TIMEOUT_SECONDS; default 60)")
    public var llmFirstTokenTimeoutSeconds: Int?

    @Option(name: .customLong("llm-run-timeout"), help: "Seconds one model call may take, retries and the whole stream included (HERALD_LLM_RUN_TIMEOUT_SECONDS; default 300)")
    public var llmRunTimeoutSeconds: Int?

    @Option(name: .customLong("llm-max-retries"), help: "Retries of a model request after 429, 5xx or a failed connection, before its first token (HERALD_LLM_MAX_RETRIES; default 2)")
    public var llmMaxRetries: Int?

    @Option(name: .customLong("llm-retry-initial-delay-ms"), help: "Pause before the first retry, doubled for each further one, with jitter (HERALD_LLM_RETRY_INITIAL_DELAY_MS; default 500)")
    public var llmRetryInitialDelayMs: Int?

    @Option(name: .customLong("llm-retry-max-delay"), help: "Longest pause between retries, also for a longer Retry-After (HERALD_LLM_RETRY_MAX_DELAY_SECONDS; default 20)")
    public var llmRetryMaxDelaySeconds: Int?

    @Option(name: .customLong("llm-prompts-dir"), help: "Folder whose assistant.md, triage.md and reporting.md replace the bundled prompts (HERALD_LLM_PROMPTS_DIR; unset: the bundled ones)")
    public var llmPromptsDirectory: String?

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
        let languageModel = try resolveLanguageModel(resolver)
        var prompts: AgentPrompts?
        if languageModel != nil {
            let overrides = resolver.optionalString(llmPromptsDirectory, env: "HERALD_LLM_PROMPTS_DIR").map {
                URL(fileURLWithPath: $0, relativeTo: currentDirectory).standardizedFileURL
            }
            prompts = try AgentPrompts.load(overrides: overrides, bundled: AgentPrompts.bundledDirectory(executable: executable))
        }
        return WorkerSettings(
            common: common,
            workerID: workerID,
            concurrency: try resolver.int(concurrency, env: "HERALD_WORKER_CONCURRENCY", default: 8, in: 1...1024),
            offlineDelay: .milliseconds(try resolver.int(offlineDelayMs, env: "HERALD_OFFLINE_DELAY_MS", default: 20, in: 0...60_000)),
            streamCoalescing: .milliseconds(try resolver.int(streamCoalesceMs, env: "HERALD_STREAM_COALESCE_MS", default: 40, in: 0...5_000)),
            docsDirectory: docs,
            toolTimeout: .seconds(try resolver.int(toolTimeoutSeconds, env: "HERALD_TOOL_TIMEOUT_SECONDS", default: 30, in: 1...3600)),
            runTimeout: runTimeout == 0 ? nil : .seconds(runTimeout),
            gracePeriod: .seconds(try resolver.int(graceSeconds, env: "HERALD_WORKER_GRACE_SECONDS", default: 10, in: 0...3600)),
            redisRetry: .seconds(try resolver.int(redisRetrySeconds, env: "HERALD_REDIS_RETRY_SECONDS", default: 30, in: 1...3600)),
            conversationTurns: try resolver.int(conversationTurns, env: "HERALD_CONVERSATION_TURNS", default: 40, in: 2...10_000),
            adminHost: resolver.string(adminHost, env: "HERALD_ADMIN_HOST", default: "0.0.0.0"),
            adminPort: try resolver.int(adminPort, env: "HERALD_ADMIN_PORT", default: 9091, in: 0...65535),
            languageModel: languageModel,
            agentPrompts: prompts
        )
    }

    /// The OpenAI-compatible model's settings, nil without a base URL (the offline model). The
    /// limits are checked either way, so a bad value fails before anyone relies on it.
    private func resolveLanguageModel(_ resolver: SettingsResolver) throws -> LanguageModelSettings? {
        let connect = try resolver.int(llmConnectTimeoutSeconds, env: "HERALD_LLM_CONNECT_TIMEOUT_SECONDS", default: 10, in: 1...300)
        let firstToken = try resolver.int(llmFirstTokenTimeoutSeconds, env: "HERALD_LLM_FIRST_TOKEN_TIMEOUT_SECONDS", default: 60, in: 1...3600)
        let request = try resolver.int(llmRunTimeoutSeconds, env: "HERALD_LLM_RUN_TIMEOUT_SECONDS", default: 300, in: 1...86_400)
        let retries = try resolver.int(llmMaxRetries, env: "HERALD_LLM_MAX_RETRIES", default: 2, in: 0...10)
        let initialDelay = try resolver.int(llmRetryInitialDelayMs, env: "HERALD_LLM_RETRY_INITIAL_DELAY_MS", default: 500, in: 1...60_000)
        let maximumDelay = try resolver.int(llmRetryMaxDelaySeconds, env: "HERALD_LLM_RETRY_MAX_DELAY_SECONDS", default: 20, in: 1...600)
        let apiKey = resolver.optionalString(llmAPIKey, env: "HERALD_LLM_API_KEY")?.trimmingCharacters(in: .whitespacesAndNewlines)
        let model = resolver.optionalString(llmModel, env: "HERALD_LLM_MODEL")?.trimmingCharacters(in: .whitespaces)
        guard let text = resolver.optionalString(llmBaseURL, env: "HERALD_LLM_BASE_URL") else { return nil }
        guard let baseURL = LanguageModelSettings.normalizedBaseURL(text) else {
            throw SettingError("HERALD_LLM_BASE_URL: '\(text)' is not an http:// or https:// URL with a host")
        }
        guard let model, !model.isEmpty else {
            throw SettingError("HERALD_LLM_MODEL: required when HERALD_LLM_BASE_URL is set (the model's name on that server, e.g. gpt-4o-mini or llama3.1)")
        }
        if let apiKey, apiKey.contains(where: { $0.isNewline || $0 == "\0" }) {
            throw SettingError("HERALD_LLM_API_KEY: holds a line break or NUL, which cannot go in an HTTP header")
        }
        return LanguageModelSettings(
            baseURL: baseURL,
            apiKey: apiKey?.isEmpty == false ? apiKey : nil,
            model: model,
            connectTimeout: .seconds(connect),
            firstTokenTimeout: .seconds(firstToken),
            requestTimeout: .seconds(request),
            retry: ModelRetryPolicy(maximumRetries: retries, initialDelay: .milliseconds(initialDelay), maximumDelay: .seconds(maximumDelay)))
    }
}
