import HeraldCore

/// The tools a worker offers, by name. Adding a tool is one file (the type) and one line in `standard`.
public struct ToolRegistry: Sendable {
    private var byName: [String: any Tool] = [:]
    /// Registration order, which is the order the model is told about the tools.
    public private(set) var names: [String] = []
    /// Tools an operator requires approval for besides those that declare it (`HERALD_APPROVAL_TOOLS`).
    public var approvals: ApprovalPolicy

    public init(_ tools: [any Tool] = [], approvals: ApprovalPolicy = .declared) {
        self.approvals = approvals
        for tool in tools { register(tool) }
    }

    /// Adds a tool, replacing one of the same name.
    public mutating func register(_ tool: any Tool) {
        if byName.updateValue(tool, forKey: tool.name) == nil {
            names.append(tool.name)
        }
    }

    public func tool(named name: String) -> (any Tool)? { byName[name] }

    /// Whether a call of the tool named `name` waits for a person's approval.
    public func requiresApproval(_ name: String) -> Bool {
        guard let tool = byName[name] else { return false }
        return tool.requiresApproval || approvals.covers(name)
    }

    public var tools: [any Tool] { names.compactMap { byName[$0] } }

    public var specs: [ToolSpec] { tools.map(\.spec) }

    /// Herald's built-in tools; the notes tools when given where notes are kept.
    public static func standard(docs: DocsIndex, notes: NoteStore? = nil, approvals: ApprovalPolicy = .declared) -> ToolRegistry {
        var registry = ToolRegistry(
            [
                CalculatorTool(),
                ClockTool(),
                WaitTool(),
                SearchDocsTool(index: docs),
            ],
            approvals: approvals
        )
        if let notes {
            registry.register(SaveNoteTool(store: notes))
            registry.register(ListNotesTool(store: notes))
        }
        return registry
    }
}
