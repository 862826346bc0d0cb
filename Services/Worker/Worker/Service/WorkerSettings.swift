import Foundation
import HeraldCore

/// Everything a worker needs to know, resolved from flags and the environment.
public struct WorkerSettings: Sendable {
    public var common: CommonSettings
    /// This worker's consumer name in the run queue's group and the value of its run leases; unique per process.
    public var workerID: String
    /// Runs executed at once (`HERALD_WORKER_CONCURRENCY`).
    public var concurrency: Int
    /// The offline model's pause before each streamed word (`HERALD_OFFLINE_DELAY_MS`).
    public var offlineDelay: Duration
    /// The least time between two `partial_result` events of an answer (`HERALD_STREAM_COALESCE_MS`).
    public var streamCoalescing: Duration
    /// The docs `search_docs` searches (`HERALD_DOCS_DIR`, else found next to the working directory or the executable).
    public var docsDirectory: URL?
    /// Time limit of a tool call for tools without their own (`HERALD_TOOL_TIMEOUT_SECONDS`).
    public var toolTimeout: Duration
    /// Time limit of a whole run, nil for none (`HERALD_RUN_TIMEOUT_SECONDS`, 0 for none).
    public var runTimeout: Duration?
    /// How long a shutting-down worker lets its runs finish before cancelling them (`HERALD_WORKER_GRACE_SECONDS`).
    public var gracePeriod: Duration
    /// How long an event or a run's bookkeeping is retried while Redis fails (`HERALD_REDIS_RETRY_SECONDS`).
    public var redisRetry: Duration
    /// Conversation turns kept per thread for later runs (`HERALD_CONVERSATION_TURNS`).
    public var conversationTurns: Int
    /// Tools that wait for approval besides those that declare it (`HERALD_APPROVAL_TOOLS`).
    public var approvals: ApprovalPolicy
    /// How long an approval request waits for a decision (`HERALD_APPROVAL_TIMEOUT_SECONDS`).
    public var approvalTimeout: Duration
    /// The MCP servers whose tools the worker offers (`HERALD_MCP_SERVERS`, `HERALD_MCP_CONFIG`).
    public var mcpServers: [MCPServerConfiguration]
    /// How long an MCP server has to start and list its tools (`HERALD_MCP_START_TIMEOUT_SECONDS`).
    public var mcpStartTimeout: Duration
    public var adminHost: String
    public var adminPort: Int
    /// The OpenAI-compatible model (`HERALD_LLM_…`); nil runs the built-in offline model.
    public var languageModel: LanguageModelSettings?
    /// The agents' prompts, set with `languageModel` (bundled, or `HERALD_LLM_PROMPTS_DIR`).
    public var agentPrompts: AgentPrompts?

    public init(
        common: CommonSettings,
        workerID: String = Identifier.make("worker"),
        concurrency: Int = 8,
        offlineDelay: Duration = .milliseconds(20),
        streamCoalescing: Duration = EngineConfiguration.defaultStreamCoalescing,
        docsDirectory: URL? = nil,
        toolTimeout: Duration = .seconds(30),
        runTimeout: Duration? = .seconds(900),
        gracePeriod: Duration = .seconds(10),
        redisRetry: Duration = .seconds(30),
        conversationTurns: Int = 40,
        approvals: ApprovalPolicy = .declared,
        approvalTimeout: Duration = .seconds(600),
        mcpServers: [MCPServerConfiguration] = [],
        mcpStartTimeout: Duration = .seconds(10),
        adminHost: String = "0.0.0.0",
        adminPort: Int = 9091,
        languageModel: LanguageModelSettings? = nil,
        agentPrompts: AgentPrompts? = nil
    ) {
        self.common = common
        self.workerID = workerID
        self.concurrency = concurrency
        self.offlineDelay = offlineDelay
        self.streamCoalescing = streamCoalescing
        self.docsDirectory = docsDirectory
        self.toolTimeout = toolTimeout
        self.runTimeout = runTimeout
        self.gracePeriod = gracePeriod
        self.redisRetry = redisRetry
        self.conversationTurns = conversationTurns
        self.approvals = approvals
        self.approvalTimeout = approvalTimeout
        self.mcpServers = mcpServers
        self.mcpStartTimeout = mcpStartTimeout
        self.adminHost = adminHost
        self.adminPort = adminPort
        self.languageModel = languageModel
        self.agentPrompts = agentPrompts
    }

    /// The run lease's lifetime without renewal (`HERALD_RUN_LEASE_SECONDS`).
    public var runLease: Duration { .seconds(common.runLeaseSeconds) }

    /// The engine's configuration under these settings.
    public var engine: EngineConfiguration {
        let configuration = EngineConfiguration(
            toolTimeout: toolTimeout,
            runTimeout: runTimeout,
            streamCoalescing: streamCoalescing,
            approvalTimeout: approvalTimeout,
            emitRetry: EmitRetryPolicy(maximumDuration: redisRetry)
        )
        return agentPrompts.map(configuration.prompting(with:)) ?? configuration
    }
}
