import HeraldCore
import HeraldProtocol

/// The assistant's answer and what its tools did.
public struct AssistantAnswer: Sendable, Equatable {
    public var text: String
    public var toolOutcomes: [ToolOutcome]
    public var usage: ModelUsage
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
        for turn in run.input.history {
            messages.append(turn.role == .user ? .user(turn.content) : .assistant(turn.content))
        }
        messages.append(.user(run.input.message))

        // Triage's tokens count towards the run's usage too.
        var answer = AssistantAnswer(text: "", toolOutcomes: [], usage: plan.usage)
        let rounds = configuration.maximumModelRounds
        for round in 1...rounds {
            // The last round offers no tools, so the model has to answer.
            let request = ModelRequest(messages: messages, tools: round < rounds ? plan.tools : [])
            let (text, calls) = try await stream(request, into: &answer, in: run)
            guard !calls.isEmpty else { break }
            guard round < rounds else {
                throw AgentFailure(.internal, "the model still called tools after \(rounds) rounds", retryable: false)
            }
            let names = calls.map(\.name).joined(separator: ", ")
            try await sink.emit(.agentThinking(.init(thought: "Calling \(names).", stepNumber: round)), agent: name, in: run)
            messages.append(.assistant(text, toolCalls: calls))
            for call in calls {
                let outcome = try await dispatcher.dispatch(call, agent: name, in: run)
                answer.toolOutcomes.append(outcome)
                messages.append(.tool(callID: call.id, content: outcome.modelContent))
            }
        }
        try await sink.emit(.partialResult(.init(content: "", isComplete: true)), agent: name, in: run)
        return answer
    }

    public func summary(of output: AssistantAnswer) -> JSONValue? {
        ["tool_calls": .number(Double(output.toolOutcomes.count)), "model": .string(model.name)]
    }

    /// Streams one model call, forwarding its text as it comes; returns the text and tool calls.
    private func stream(_ request: ModelRequest, into answer: inout AssistantAnswer, in run: RunContext) async throws -> (String, [ModelToolCall]) {
        var text = ""
        var calls: [ModelToolCall] = []
        do {
            for try await event in model.stream(request) {
                switch event {
                case .textDelta(var delta):
                    guard !delta.isEmpty else { continue }
                    if text.isEmpty, let last = answer.text.last, !last.isWhitespace {
                        // A new round's text starts a new paragraph of the same answer.
                        delta = "\n\n" + delta
                    }
                    text += delta
                    answer.text += delta
                    try await sink.emit(.partialResult(.init(content: delta, isComplete: false)), agent: name, in: run)
                case .toolCall(let call):
                    calls.append(call)
                case .usage(let usage):
                    answer.usage = answer.usage + usage
                case .finish:
                    break
                }
            }
        } catch let error as EventDeliveryError {
            throw error
        } catch let error as ModelError {
            throw error
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw ModelError("\(error)")
        }
        // A stream ends quietly when its consumer is cancelled: tell that apart from an answer.
        try Task.checkCancellation()
        return (text, calls)
    }
}
