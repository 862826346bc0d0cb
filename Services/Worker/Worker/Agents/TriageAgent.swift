import Foundation
import HeraldCore
import HeraldProtocol

/// What triage found the request needs.
public struct TriagePlan: Sendable, Equatable {
    /// The tool calls the message appears to ask for, in order.
    public var expectedCalls: [OfflinePlanner.PlannedCall]
    /// Whether it asks about earlier messages of the thread.
    public var recallsConversation: Bool
    /// The tools the assistant offers the model.
    public var tools: [ToolSpec]
    /// What the model said the request needs, when triage consulted it; the assistant reads it too.
    public var notes: String? = nil
    /// Tokens triage's own model call used.
    public var usage: ModelUsage = .zero
}

/// Decides what the request needs and says so in `agent_thinking`.
///
/// With a prompt it asks the model (without tools) and says what the model said; without one, as
/// with the offline model, it reads the message with the offline planner.
public struct TriageAgent: Agent {
    public let name = "triage"
    private let sink: any EventSink
    private let tools: ToolRegistry
    private let model: (any LanguageModel)?
    private let prompt: String?

    /// The most characters of the model's plan that `agent_thinking` carries.
    static let maximumThoughtCharacters = 1000

    public init(sink: any EventSink, tools: ToolRegistry, model: (any LanguageModel)? = nil, prompt: String? = nil) {
        self.sink = sink
        self.tools = tools
        self.model = model
        self.prompt = prompt
    }

    public func run(_ input: RunInput, in run: RunContext) async throws -> TriagePlan {
        if let model, let prompt, !input.message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return try await consult(model, prompt: prompt, input: input, in: run)
        }
        let plan = TriagePlan(
            expectedCalls: OfflinePlanner.plan(input.message).filter { call in
                tools.tool(named: call.toolName) != nil || input.clientTools.contains { $0.name == call.toolName }
            },
            recallsConversation: OfflinePlanner.asksAboutEarlierMessages(input.message),
            tools: tools.specs
        )
        let thought =
            input.toolResults.isEmpty
            ? Self.thought(for: plan, input: input)
            : "Continuing with what the client's tools returned (\(input.toolResults.count) result\(input.toolResults.count == 1 ? "" : "s"))."
        try await sink.emit(.agentThinking(.init(thought: thought, stepNumber: 1, totalSteps: 3)), agent: name, in: run)
        return plan
    }

    public func summary(of output: TriagePlan) -> JSONValue? {
        ["expected_tools": .array(output.expectedCalls.map { .string($0.toolName) })]
    }

    /// Asks the model what the request needs; its answer is the thought, and the tools it names
    /// are the expected ones.
    private func consult(_ model: any LanguageModel, prompt: String, input: RunInput, in run: RunContext) async throws -> TriagePlan {
        let specs = tools.specs
        let toolList = specs.isEmpty ? "(none)" : specs.map { "- \($0.name): \($0.description)" }.joined(separator: "\n")
        var messages: [ModelMessage] = [.system(prompt + "\n\nTools the assistant can call:\n" + toolList)]
        // Triage reads what was said; tool calls and their results are the assistant's business.
        for turn in input.history where turn.role != .tool {
            messages.append(turn.role == .user ? .user(turn.content) : .assistant(turn.content))
        }
        messages.append(.user(input.message))
        let reply = try await ModelReply.collect(from: model, ModelRequest(messages: messages, tools: []))

        var thought = reply.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if thought.count > Self.maximumThoughtCharacters {
            thought = thought.prefix(Self.maximumThoughtCharacters).trimmingCharacters(in: .whitespaces) + "…"
        }
        let named = specs.filter { Self.mentions(thought, tool: $0.name) }
        let plan = TriagePlan(
            expectedCalls: named.map { OfflinePlanner.PlannedCall(toolName: $0.name, arguments: [:]) },
            recallsConversation: OfflinePlanner.asksAboutEarlierMessages(input.message),
            tools: specs,
            notes: thought.isEmpty ? nil : thought,
            usage: reply.usage
        )
        let shown = thought.isEmpty ? "The model gave no plan; the assistant will answer directly." : thought
        try await sink.emit(.agentThinking(.init(thought: shown, stepNumber: 1, totalSteps: 3)), agent: name, in: run)
        return plan
    }

    /// Whether `text` names `tool` as a word of its own.
    static func mentions(_ text: String, tool: String) -> Bool {
        var searchRange = text.startIndex..<text.endIndex
        while let found = text.range(of: tool, options: .caseInsensitive, range: searchRange) {
            let before = found.lowerBound == text.startIndex ? nil : text[text.index(before: found.lowerBound)]
            let after = found.upperBound == text.endIndex ? nil : text[found.upperBound]
            let isWordCharacter = { (character: Character?) in character.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
            if !isWordCharacter(before), !isWordCharacter(after) { return true }
            searchRange = found.upperBound..<text.endIndex
        }
        return false
    }

    static func thought(for plan: TriagePlan, input: RunInput) -> String {
        if input.message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return "The message is empty; the assistant will say so."
        }
        var needs = plan.expectedCalls.map(describe)
        if plan.recallsConversation {
            let turns = input.history.filter { $0.role == .user }.count
            needs.append("a look back at the \(turns) earlier message\(turns == 1 ? "" : "s") of this conversation")
        }
        guard !needs.isEmpty else {
            return "No tool looks needed; the assistant will answer directly (it can still call one of \(plan.tools.count) tools)."
        }
        return "This needs " + list(needs) + "."
    }

    private static func describe(_ call: OfflinePlanner.PlannedCall) -> String {
        switch call.toolName {
        case "calculator":
            return "the calculator for \(call.arguments["expression"]?.stringValue ?? "an expression")"
        case "clock":
            return call.arguments["time_zone"]?.stringValue.map { "the clock in \($0)" } ?? "the clock"
        case "wait":
            return "a wait of \(NumberText.format(call.arguments["seconds"]?.numberValue ?? 0)) s"
        case "search_docs":
            return "a docs search for “\(call.arguments["query"]?.stringValue ?? "")”"
        default:
            return "the \(call.toolName) tool"
        }
    }

    private static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
    }
}
