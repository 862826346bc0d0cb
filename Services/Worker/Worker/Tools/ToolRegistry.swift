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

    /// The tool named `name`, or whose name as the model is told it (`ToolNames.modelSafe`) is `name`.
    public func tool(named name: String) -> (any Tool)? {
        if let tool = byName[name] { return tool }
        guard let canonical = names.first(where: { ToolNames.modelSafe($0) == name }) else { return nil }
        return byName[canonical]
    }

    /// Whether a call of the tool named `name` (either way) waits for a person's approval.
    public func requiresApproval(_ name: String) -> Bool {
        guard let tool = tool(named: name) else { return false }
        return tool.requiresApproval || approvals.covers(tool.name)
    }

    /// The registry with `more` tools added after these (an MCP server's, which come and go).
    public func adding(_ more: [any Tool]) -> ToolRegistry {
        var registry = self
        for tool in more { registry.register(tool) }
        return registry
    }

    public var tools: [any Tool] { names.compactMap { byName[$0] } }

    /// The tools as the model is told about them, under names it accepts.
    public var specs: [ToolSpec] {
        tools.map { tool in
            var spec = tool.spec
            spec.name = ToolNames.modelSafe(spec.name)
            return spec
        }
    }

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
