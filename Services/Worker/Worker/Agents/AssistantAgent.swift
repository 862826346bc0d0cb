import HeraldCore
import HeraldProtocol

/// The assistant's answer and what its tools did.
public struct AssistantAnswer: Sendable, Equatable, Codable {
    public var text: String
    public var toolOutcomes: [ToolOutcome]
    public var usage: ModelUsage
    /// Calls of client tools handed to the client, which ended the run; empty when the model answered.
    public var handedOver: [ModelToolCall] = []
    /// The turns the conversation keeps for a run that handed calls over: the assistant's turn with its calls and
    /// the worker's own tools' results of that round, so the run that continues from the client's results sees them.
    public var handoverTurns: [ConversationTurn] = []
}

/// Where the assistant's tool loop stands: what a run paused for approval keeps, to continue on any worker.
public struct AssistantProgress: Sendable, Equatable, Codable {
    /// The conversation as the model reads it next.
    public var messages: [ModelMessage]
    /// The tools offered to the model.
    public var offered: [ToolSpec]
    /// Which of them the client runs.
    public var clientToolNames: [String]
    public var answer: AssistantAnswer
    /// The model round under way, from 1; 0 before the first.
    public var round = 0
    /// The round's calls of the worker's own tools still to run, in order.
    public var pendingCalls: [ModelToolCall] = []
    /// The round's calls of client tools, handed over once the worker's own are done.
    public var clientCalls: [ModelToolCall] = []
    /// The round's turns, kept for a run that hands calls over.
    public var roundTurns: [ConversationTurn] = []
}

/// Runs the language model and its tool calls until the model answers, streaming the answer
/// as `partial_result` events. A call of a tool that needs approval pauses the run.
public struct AssistantAgent: Agent {
    public let name = "assistant"
    private let sink: any EventSink
    private let model: any LanguageModel
    private let dispatcher: ToolDispatcher
    private let configuration: EngineConfiguration

    public init(sink: any EventSink, model: any LanguageModel, tools: ToolRegistry, configuration: EngineConfiguration) {
        self.sink = sink
        self.model = model
        self.dispatcher = ToolDispatcher(sink: sink, tools: tools, defaultTimeout: configuration.toolTimeout)
        self.configuration = configuration
    }

    public func run(_ plan: TriagePlan, in run: RunContext) async throws -> AssistantAnswer {
        var system = configuration.systemPrompt
        if let notes = plan.notes {
            // Triage's reading of the message steers the assistant's first move.
            system += "\n\nTriage's notes on this message: \(notes)"
        }
        var messages: [ModelMessage] = [.system(system)]
        messages += Self.answerable(run.input.history + run.input.openingTurns).map(Self.message(of:))
        let clientTools = Self.clientTools(run.input.clientTools, besides: plan.tools)
        // Triage's tokens count towards the run's usage too.
        var progress = AssistantProgress(
            messages: messages,
            offered: plan.tools + clientTools,
            clientToolNames: clientTools.map(\.name),
            answer: AssistantAnswer(text: "", toolOutcomes: [], usage: plan.usage)
        )
        return try await proceed(&progress, verdict: nil, in: run)
    }

    /// Continues a run that paused for approval of its first pending call, once `verdict` was taken.
    public func resume(_ progress: AssistantProgress, after verdict: ApprovalVerdict, in run: RunContext) async throws -> AssistantAnswer {
        var progress = progress
        return try await proceed(&progress, verdict: verdict, in: run)
    }

    /// The tool loop: finishes the round's pending calls, then asks the model again, until it answers. A call that
    /// needs approval pauses the run (`RunPaused`, holding `progress`); `verdict` decides the call it paused at.
    private func proceed(_ progress: inout AssistantProgress, verdict: ApprovalVerdict?, in run: RunContext) async throws -> AssistantAnswer {
        var verdict = verdict
        let rounds = configuration.maximumModelRounds
        while true {
            if progress.round > 0 {
                while let call = progress.pendingCalls.first {
                    let outcome: ToolOutcome
                    if let decided = verdict, decided.toolCallID == call.id {
                        verdict = nil
                        outcome = try await dispatcher.complete(call, after: decided, agent: name, in: run)
                    } else if dispatcher.requiresApproval(call) {
                        let arguments = try await dispatcher.announce(call, agent: name, in: run) ?? [:]
                        throw RunPaused(toolCall: dispatcher.canonical(call), arguments: arguments, agentName: name, assistant: progress)
                    } else {
                        outcome = try await dispatcher.dispatch(call, agent: name, in: run)
                    }
                    progress.pendingCalls.removeFirst()
                    progress.answer.toolOutcomes.append(outcome)
                    progress.messages.append(.tool(callID: call.id, content: outcome.modelContent))
                    progress.roundTurns.append(ConversationTurn(role: .tool, content: outcome.modelContent, toolCallID: call.id))
                }
                if !progress.clientCalls.isEmpty {
                    // The client runs these: the run ends here, and the client's next request continues it with their results.
                    for call in progress.clientCalls {
                        try await dispatcher.handOver(call, agent: name, in: run)
                    }
                    progress.answer.handedOver = progress.clientCalls
                    progress.answer.handoverTurns = progress.roundTurns
                    break
                }
            }
            progress.round += 1
            let round = progress.round
            // The last round offers no tools, so the model has to answer.
            let request = ModelRequest(messages: progress.messages, tools: round < rounds ? progress.offered : [])
            let (text, calls) = try await stream(request, into: &progress.answer, in: run)
            guard !calls.isEmpty else { break }
            guard round < rounds else {
                throw AgentFailure(.internal, "the model still called tools after \(rounds) rounds", retryable: false)
            }
            let names = calls.map(\.name).joined(separator: ", ")
            try await sink.emit(.agentThinking(.init(thought: "Calling \(names).", stepNumber: round)), agent: name, in: run)
            progress.messages.append(.assistant(text, toolCalls: calls))
            progress.roundTurns = [
                ConversationTurn(role: .assistant, content: text, toolCalls: calls.map { .init(id: $0.id, name: $0.name, arguments: $0.arguments) })
            ]
            let clientNames = Set(progress.clientToolNames)
            progress.pendingCalls = calls.filter { !clientNames.contains($0.name) }
            progress.clientCalls = calls.filter { clientNames.contains($0.name) }
        }
        try await sink.emit(.partialResult(.init(content: "", isComplete: true)), agent: name, in: run)
        return progress.answer
    }

    /// The turns a model accepts: a tool result only after the assistant turn that made its call. The conversation is
    /// trimmed by count (`HERALD_CONVERSATION_TURNS`), which can cut a call away from its result; such a result goes.
    static func answerable(_ turns: [ConversationTurn]) -> [ConversationTurn] {
        var calls = Set<String>()
        return turns.filter { turn in
            switch turn.role {
            case .assistant:
                calls.formUnion((turn.toolCalls ?? []).map(\.id))
                return true
            case .tool:
                return turn.toolCallID.map { calls.contains($0) } ?? false
            case .user:
                return true
            }
        }
    }

    /// A conversation turn as the model reads it.
    static func message(of turn: ConversationTurn) -> ModelMessage {
        switch turn.role {
        case .user: .user(turn.content)
        case .assistant:
            .assistant(turn.content, toolCalls: (turn.toolCalls ?? []).map { ModelToolCall(id: $0.id, name: $0.name, arguments: $0.arguments) })
        case .tool: .tool(callID: turn.toolCallID ?? "", content: turn.content)
        }
    }

    /// The client's tools as the model is told of them, leaving out any whose name a worker tool has.
    static func clientTools(_ tools: [ToolSpec], besides own: [ToolSpec]) -> [ToolSpec] {
        let taken = Set(own.map(\.name))
        return tools.filter { !taken.contains($0.name) }
    }

    public func summary(of output: AssistantAnswer) -> JSONValue? {
        ["tool_calls": .number(Double(output.toolOutcomes.count + output.handedOver.count)), "model": .string(model.name)]
    }

    /// What the streaming loop waits for: the model's next event, its end, or held text falling due.
    private enum StreamInput: Sendable {
        case model(ModelStreamEvent)
        case ended
        case failed(any Error)
        case due
    }

    /// Streams one model call, forwarding its text as `partial_result` events coalesced by
    /// `configuration.streamCoalescing`; returns the text and tool calls.
    ///
    /// One loop emits everything, so events keep the order the model gave: the model is read by a child task and
    /// timers for held text are child tasks too, all feeding the loop. Held text is flushed before the tool calls
    /// are dispatched, before the answer's end marker, and before a model failure ends the run.
    private func stream(_ request: ModelRequest, into answer: inout AssistantAnswer, in run: RunContext) async throws -> (String, [ModelToolCall]) {
        var text = ""
        var calls: [ModelToolCall] = []
        var coalescer = PartialResultCoalescer(interval: configuration.streamCoalescing)
        let (inputs, feed) = AsyncStream<StreamInput>.makeStream()
        let model = self.model
        let failure: (any Error)? = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await event in model.stream(request) { feed.yield(.model(event)) }
                    feed.yield(.ended)
                } catch {
                    feed.yield(.failed(error))
                }
            }
            defer { group.cancelAll() }
            for await input in inputs {
                switch input {
                case .model(.textDelta(var delta)):
                    guard !delta.isEmpty else { continue }
                    if text.isEmpty, let last = answer.text.last, !last.isWhitespace {
                        // A new round's text starts a new paragraph of the same answer.
                        delta = "\n\n" + delta
                    }
                    text += delta
                    answer.text += delta
                    switch coalescer.receive(delta, at: .now) {
                    case .emit(let content):
                        try await emitText(content, in: run)
                    case .held(let dueAt?):
                        group.addTask {
                            try? await Task.sleep(until: dueAt, clock: .continuous)
                            feed.yield(.due)
                        }
                    case .held(nil):
                        break
                    }
                case .model(.toolCall(let call)):
                    calls.append(call)
                case .model(.usage(let usage)):
                    answer.usage = answer.usage + usage
                case .model(.finish):
                    break
                case .due:
                    if let content = coalescer.due(at: .now) { try await emitText(content, in: run) }
                case .ended:
                    if let content = coalescer.flush(at: .now) { try await emitText(content, in: run) }
                    return nil
                case .failed(let error):
                    // What the model did send reaches the user before the run ends with its error.
                    if let content = coalescer.flush(at: .now), !Task.isCancelled { try await emitText(content, in: run) }
                    return error
                }
            }
            // The stream ends without `.ended` only when this task is cancelled.
            return CancellationError()
        }
        if let failure {
            if let error = failure as? ModelError { throw error }
            if Task.isCancelled || failure is CancellationError { throw CancellationError() }
            throw ModelError("\(failure)")
        }
        // A stream ends quietly when its consumer is cancelled: tell that apart from an answer.
        try Task.checkCancellation()
        return (text, calls)
    }

    private func emitText(_ content: String, in run: RunContext) async throws {
        try await sink.emit(.partialResult(.init(content: content, isComplete: false)), agent: name, in: run)
    }
}
