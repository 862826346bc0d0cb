import HeraldCore
import HeraldProtocol

/// The assistant's answer and what its tools did.
public struct AssistantAnswer: Sendable, Equatable {
    public var text: String
    public var toolOutcomes: [ToolOutcome]
    public var usage: ModelUsage
    /// Calls of client tools handed to the client, which ended the run; empty when the model answered.
    public var handedOver: [ModelToolCall] = []
    /// The turns the conversation keeps for a run that handed calls over: the assistant's turn with its calls and
    /// the worker's own tools' results of that round, so the run that continues from the client's results sees them.
    public var handoverTurns: [ConversationTurn] = []
}

/// Runs the language model and its tool calls until the model answers, streaming the answer
/// as `partial_result` events.
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
        let offered = plan.tools + clientTools

        // Triage's tokens count towards the run's usage too.
        var answer = AssistantAnswer(text: "", toolOutcomes: [], usage: plan.usage)
        let rounds = configuration.maximumModelRounds
        for round in 1...rounds {
            // The last round offers no tools, so the model has to answer.
            let request = ModelRequest(messages: messages, tools: round < rounds ? offered : [])
            let (text, calls) = try await stream(request, into: &answer, in: run)
            guard !calls.isEmpty else { break }
            guard round < rounds else {
                throw AgentFailure(.internal, "the model still called tools after \(rounds) rounds", retryable: false)
            }
            let names = calls.map(\.name).joined(separator: ", ")
            try await sink.emit(.agentThinking(.init(thought: "Calling \(names).", stepNumber: round)), agent: name, in: run)
            messages.append(.assistant(text, toolCalls: calls))
            let clientNames = Set(clientTools.map(\.name))
            var roundTurns = [
                ConversationTurn(role: .assistant, content: text, toolCalls: calls.map { .init(id: $0.id, name: $0.name, arguments: $0.arguments) })
            ]
            for call in calls where !clientNames.contains(call.name) {
                let outcome = try await dispatcher.dispatch(call, agent: name, in: run)
                answer.toolOutcomes.append(outcome)
                messages.append(.tool(callID: call.id, content: outcome.modelContent))
                roundTurns.append(ConversationTurn(role: .tool, content: outcome.modelContent, toolCallID: call.id))
            }
            let handedOver = calls.filter { clientNames.contains($0.name) }
            if !handedOver.isEmpty {
                // The client runs these: the run ends here, and the client's next request continues it with their results.
                for call in handedOver {
                    try await dispatcher.handOver(call, agent: name, in: run)
                }
                answer.handedOver = handedOver
                answer.handoverTurns = roundTurns
                break
            }
        }
        try await sink.emit(.partialResult(.init(content: "", isComplete: true)), agent: name, in: run)
        return answer
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
