import Foundation
import HeraldProtocol

/// What triage found the request needs.
public struct TriagePlan: Sendable, Equatable {
    /// The tool calls the message appears to ask for, in order.
    public var expectedCalls: [OfflinePlanner.PlannedCall]
    /// Whether it asks about earlier messages of the thread.
    public var recallsConversation: Bool
    /// The tools the assistant offers the model.
    public var tools: [ToolSpec]
}

/// Decides what the request needs and says so in `agent_thinking`.
public struct TriageAgent: Agent {
    public let name = "triage"
    private let sink: any EventSink
    private let tools: ToolRegistry

    public init(sink: any EventSink, tools: ToolRegistry) {
        self.sink = sink
        self.tools = tools
    }

    public func run(_ input: RunInput, in run: RunContext) async throws -> TriagePlan {
        let plan = TriagePlan(
            expectedCalls: OfflinePlanner.plan(input.message).filter { tools.tool(named: $0.toolName) != nil },
            recallsConversation: OfflinePlanner.asksAboutEarlierMessages(input.message),
            tools: tools.specs)
        try await sink.emit(.agentThinking(.init(thought: Self.thought(for: plan, input: input), stepNumber: 1, totalSteps: 3)), agent: name, in: run)
        return plan
    }

    public func summary(of output: TriagePlan) -> JSONValue? {
        ["expected_tools": .array(output.expectedCalls.map { .string($0.toolName) })]
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
