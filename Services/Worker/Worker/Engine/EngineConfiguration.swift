/// How the engine runs: time limits, the tool loop's bound, retrying of events, the agents' prompts.
public struct EngineConfiguration: Sendable {
    /// Time limit of a tool call when the tool sets none (`HERALD_TOOL_TIMEOUT_SECONDS`).
    public var toolTimeout: Duration
    /// Time limit of a whole run, nil for none (`HERALD_RUN_TIMEOUT_SECONDS`); past it the run ends with `agent_error` `timeout`.
    public var runTimeout: Duration?
    /// Model calls per run: after this many rounds of tool calls the model must answer without tools.
    public var maximumModelRounds: Int
    /// The least time between two `partial_result` events of one answer (`HERALD_STREAM_COALESCE_MS`): text the
    /// model streams meanwhile is merged into the next one. Zero sends every delta as its own event.
    public var streamCoalescing: Duration
    /// How long an approval request waits for a decision before it expires (`HERALD_APPROVAL_TIMEOUT_SECONDS`).
    public var approvalTimeout: Duration
    /// Retrying of events while the sink fails (`HERALD_REDIS_RETRY_SECONDS`).
    public var emitRetry: EmitRetryPolicy
    /// The system message the assistant's model gets first.
    public var systemPrompt: String
    /// Triage's system prompt when it consults the model; nil (the offline model) plans without it.
    public var triagePrompt: String?
    /// Reporting's system prompt when it may consult the model; nil reports without it.
    public var reportingPrompt: String?

    public init(
        toolTimeout: Duration = .seconds(30),
        runTimeout: Duration? = .seconds(900),
        maximumModelRounds: Int = 8,
        streamCoalescing: Duration = EngineConfiguration.defaultStreamCoalescing,
        approvalTimeout: Duration = .seconds(600),
        emitRetry: EmitRetryPolicy = EmitRetryPolicy(),
        systemPrompt: String = EngineConfiguration.defaultSystemPrompt,
        triagePrompt: String? = nil,
        reportingPrompt: String? = nil
    ) {
        self.toolTimeout = toolTimeout
        self.runTimeout = runTimeout
        self.maximumModelRounds = max(1, maximumModelRounds)
        self.streamCoalescing = max(.zero, streamCoalescing)
        self.approvalTimeout = max(.seconds(1), approvalTimeout)
        self.emitRetry = emitRetry
        self.systemPrompt = systemPrompt
        self.triagePrompt = triagePrompt
        self.reportingPrompt = reportingPrompt
    }

    /// This configuration with the agents' prompts: the assistant's system prompt, and triage and
    /// reporting consulting the model.
    public func prompting(with prompts: AgentPrompts) -> EngineConfiguration {
        var configuration = self
        configuration.systemPrompt = prompts.assistant
        configuration.triagePrompt = prompts.triage
        configuration.reportingPrompt = prompts.reporting
        return configuration
    }

    /// `HERALD_STREAM_COALESCE_MS`'s default, measured (Benchmarks/README.md, "Long answers"): a 3,000-token
    /// answer at 75 tokens/s goes out as about a third of the events, with the first token as fast as before.
    public static let defaultStreamCoalescing = Duration.milliseconds(40)

    public static let defaultSystemPrompt = """
        You are Herald's assistant in a chat. Answer the user's latest message clearly and briefly. \
        Use the tools when they help: calculator for arithmetic, clock for the date and time, wait to pause, \
        search_docs for questions about Herald, save_note and list_notes for the user's notes (the user approves each \
        note first). When a tool fails or the user denies a call, say what failed and why.
        """
}
