import ArgumentParser
import Foundation
import HeraldCore

/// The worker's own flags; each falls back to its `HERALD_…` environment variable.
public struct WorkerOptions: ParsableArguments, Sendable {
    @OptionGroup public var common: CommonOptions

    @Option(name: .setting(.workerID), help: .setting(.workerID))
    public var workerID: String?

    @Option(name: .setting(.workerConcurrency), help: .setting(.workerConcurrency))
    public var concurrency: String?

    @Option(name: .setting(.offlineDelayMs), help: .setting(.offlineDelayMs))
    public var offlineDelayMs: String?

    @Option(name: .setting(.streamCoalesceMs), help: .setting(.streamCoalesceMs))
    public var streamCoalesceMs: String?

    @Option(name: .setting(.docsDirectory), help: .setting(.docsDirectory))
    public var docsDirectory: String?

    @Option(name: .setting(.toolTimeoutSeconds), help: .setting(.toolTimeoutSeconds))
    public var toolTimeoutSeconds: String?

    @Option(name: .setting(.approvalTools), help: .setting(.approvalTools))
    public var approvalTools: String?

    @Option(name: .setting(.approvalTimeoutSeconds), help: .setting(.approvalTimeoutSeconds))
    public var approvalTimeoutSeconds: String?

    @Option(name: .setting(.mcpServers), help: .setting(.mcpServers))
    public var mcpServers: String?

    @Option(name: .setting(.mcpConfig), help: .setting(.mcpConfig))
    public var mcpConfig: String?

    @Option(name: .setting(.mcpStartTimeoutSeconds), help: .setting(.mcpStartTimeoutSeconds))
    public var mcpStartTimeoutSeconds: String?

    @Option(name: .setting(.runTimeoutSeconds), help: .setting(.runTimeoutSeconds))
    public var runTimeoutSeconds: String?

    @Option(name: .setting(.workerGraceSeconds), help: .setting(.workerGraceSeconds))
    public var graceSeconds: String?

    @Option(name: .setting(.redisRetrySeconds), help: .setting(.redisRetrySeconds))
    public var redisRetrySeconds: String?

    @Option(name: .setting(.conversationTurns), help: .setting(.conversationTurns))
    public var conversationTurns: String?

    @Option(name: .setting(.adminHost), help: .setting(.adminHost))
    public var adminHost: String?

    @Option(name: .setting(.adminPort), help: .setting(.adminPort, in: .worker))
    public var adminPort: String?

    @Option(name: .setting(.llmBaseURL), help: .setting(.llmBaseURL))
    public var llmBaseURL: String?

    @Option(name: .setting(.llmAPIKey), help: .setting(.llmAPIKey))
    public var llmAPIKey: String?

    @Option(name: .setting(.llmModel), help: .setting(.llmModel))
    public var llmModel: String?

    @Option(name: .setting(.llmConnectTimeoutSeconds), help: .setting(.llmConnectTimeoutSeconds))
    public var llmConnectTimeoutSeconds: String?

    @Option(name: .setting(.llmFirstTokenTimeoutSeconds), help: .setting(.llmFirstTokenTimeoutSeconds))
    public var llmFirstTokenTimeoutSeconds: String?

    @Option(name: .setting(.llmRunTimeoutSeconds), help: .setting(.llmRunTimeoutSeconds))
    public var llmRunTimeoutSeconds: String?

    @Option(name: .setting(.llmMaxRetries), help: .setting(.llmMaxRetries))
    public var llmMaxRetries: String?

    @Option(name: .setting(.llmRetryInitialDelayMs), help: .setting(.llmRetryInitialDelayMs))
    public var llmRetryInitialDelayMs: String?

    @Option(name: .setting(.llmRetryMaxDelaySeconds), help: .setting(.llmRetryMaxDelaySeconds))
    public var llmRetryMaxDelaySeconds: String?

    @Option(name: .setting(.llmPromptsDirectory), help: .setting(.llmPromptsDirectory))
    public var llmPromptsDirectory: String?

    public init() {}

    /// Resolves flags, then the environment, then defaults; a bad value throws a `SettingError` naming it.
    public func resolve(
        _ resolver: SettingsResolver = SettingsResolver(),
        currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        executable: URL? = Bundle.main.executableURL
    ) throws -> WorkerSettings {
        let common = try common.resolve(resolver)
        let workerID = try resolver.optionalString(.workerID, flag: workerID) ?? Identifier.make("worker")
        guard !workerID.isEmpty, workerID.count <= 128, workerID.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) else {
            throw SettingError(.workerID, "'\(workerID)' may hold only letters, digits, '-', '_', '.' and ':' (at most 128)")
        }
        let docs: URL?
        if let explicit = try resolver.optionalString(.docsDirectory, flag: docsDirectory) {
            let url = URL(fileURLWithPath: explicit, relativeTo: currentDirectory).standardizedFileURL
            guard DocsLocator.containsMarkdown(url) else {
                throw SettingError(.docsDirectory, "'\(explicit)' is not a folder holding markdown (.md) files")
            }
            docs = url
        } else {
            docs = DocsLocator.locate(currentDirectory: currentDirectory, executable: executable)
        }
        let runTimeout = try resolver.int(.runTimeoutSeconds, flag: runTimeoutSeconds)
        let languageModel = try resolveLanguageModel(resolver)
        var prompts: AgentPrompts?
        if languageModel != nil {
            let overrides = try resolver.optionalString(.llmPromptsDirectory, flag: llmPromptsDirectory).map {
                URL(fileURLWithPath: $0, relativeTo: currentDirectory).standardizedFileURL
            }
            prompts = try AgentPrompts.load(overrides: overrides, bundled: AgentPrompts.bundledDirectory(executable: executable))
        }
        return WorkerSettings(
            common: common,
            workerID: workerID,
            concurrency: try resolver.int(.workerConcurrency, flag: concurrency),
            offlineDelay: .milliseconds(try resolver.int(.offlineDelayMs, flag: offlineDelayMs)),
            streamCoalescing: .milliseconds(try resolver.int(.streamCoalesceMs, flag: streamCoalesceMs)),
            docsDirectory: docs,
            toolTimeout: .seconds(try resolver.int(.toolTimeoutSeconds, flag: toolTimeoutSeconds)),
            runTimeout: runTimeout == 0 ? nil : .seconds(runTimeout),
            gracePeriod: .seconds(try resolver.int(.workerGraceSeconds, flag: graceSeconds)),
            redisRetry: .seconds(try resolver.int(.redisRetrySeconds, flag: redisRetrySeconds)),
            conversationTurns: try resolver.int(.conversationTurns, flag: conversationTurns),
            approvals: ApprovalPolicy(setting: try resolver.optionalString(.approvalTools, flag: approvalTools) ?? ""),
            approvalTimeout: .seconds(try resolver.int(.approvalTimeoutSeconds, flag: approvalTimeoutSeconds)),
            mcpServers: try resolveMCPServers(resolver, currentDirectory: currentDirectory),
            mcpStartTimeout: .seconds(try resolver.int(.mcpStartTimeoutSeconds, flag: mcpStartTimeoutSeconds)),
            adminHost: try resolver.string(.adminHost, flag: adminHost, service: .worker),
            adminPort: try resolver.int(.adminPort, flag: adminPort, service: .worker),
            languageModel: languageModel,
            agentPrompts: prompts
        )
    }

    /// The MCP servers of `HERALD_MCP_SERVERS` and of the file `HERALD_MCP_CONFIG` names; a bad entry names itself.
    private func resolveMCPServers(_ resolver: SettingsResolver, currentDirectory: URL) throws -> [MCPServerConfiguration] {
        var servers: [MCPServerConfiguration] = []
        if let text = try resolver.optionalString(.mcpServers, flag: mcpServers), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            do {
                servers += try MCPServerConfiguration.parse(servers: text)
            } catch {
                throw SettingError(.mcpServers, error.description)
            }
        }
        if let path = try resolver.optionalString(.mcpConfig, flag: mcpConfig), !path.isEmpty {
            let url = URL(fileURLWithPath: path, relativeTo: currentDirectory).standardizedFileURL
            let text: String
            do {
                text = try String(contentsOf: url, encoding: .utf8)
            } catch {
                throw SettingError(.mcpConfig, "cannot read \(url.path): \(error.localizedDescription)")
            }
            let fromFile: [MCPServerConfiguration]
            do {
                fromFile = try MCPServerConfiguration.parse(configFile: text)
            } catch {
                throw SettingError(.mcpConfig, "\(url.path): \(error.description)")
            }
            if let clash = fromFile.first(where: { entry in servers.contains { $0.name == entry.name } }) {
                throw SettingError(.mcpConfig, "\(url.path): entry '\(clash.name)' is also in \(SettingSpec.mcpServers.name)")
            }
            servers += fromFile
        }
        return servers
    }

    /// The OpenAI-compatible model's settings, nil without a base URL (the offline model). The
    /// limits are checked either way, so a bad value fails before anyone relies on it.
    private func resolveLanguageModel(_ resolver: SettingsResolver) throws -> LanguageModelSettings? {
        let connect = try resolver.int(.llmConnectTimeoutSeconds, flag: llmConnectTimeoutSeconds)
        let firstToken = try resolver.int(.llmFirstTokenTimeoutSeconds, flag: llmFirstTokenTimeoutSeconds)
        let request = try resolver.int(.llmRunTimeoutSeconds, flag: llmRunTimeoutSeconds)
        let retries = try resolver.int(.llmMaxRetries, flag: llmMaxRetries)
        let initialDelay = try resolver.int(.llmRetryInitialDelayMs, flag: llmRetryInitialDelayMs)
        let maximumDelay = try resolver.int(.llmRetryMaxDelaySeconds, flag: llmRetryMaxDelaySeconds)
        let apiKey = try resolver.optionalString(.llmAPIKey, flag: llmAPIKey)?.trimmingCharacters(in: .whitespacesAndNewlines)
        let model = try resolver.optionalString(.llmModel, flag: llmModel)?.trimmingCharacters(in: .whitespaces)
        guard let text = try resolver.optionalString(.llmBaseURL, flag: llmBaseURL) else { return nil }
        guard let baseURL = LanguageModelSettings.normalizedBaseURL(text) else {
            throw SettingError(.llmBaseURL, "'\(text)' is not an http:// or https:// URL with a host")
        }
        guard let model, !model.isEmpty else {
            throw SettingError(
                .llmModel,
                "required when \(SettingSpec.llmBaseURL.name) is set (the model's name on that server, e.g. gpt-4o-mini or llama3.1)"
            )
        }
        if let apiKey, apiKey.contains(where: { $0.isNewline || $0 == "\0" }) {
            throw SettingError(.llmAPIKey, "holds a line break or NUL, which cannot go in an HTTP header")
        }
        return LanguageModelSettings(
            baseURL: baseURL,
            apiKey: apiKey?.isEmpty == false ? apiKey : nil,
            model: model,
            connectTimeout: .seconds(connect),
            firstTokenTimeout: .seconds(firstToken),
            requestTimeout: .seconds(request),
            retry: ModelRetryPolicy(maximumRetries: retries, initialDelay: .milliseconds(initialDelay), maximumDelay: .seconds(maximumDelay))
        )
    }
}
