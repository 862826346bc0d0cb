import HeraldCore

/// The tools a worker offers, by name. Adding a tool is one file (the type) and one line in `standard`.
public struct ToolRegistry: Sendable {
    private var byName: [String: any Tool] = [:]
    /// Registration order, which is the order the model is told about the tools.
    public private(set) var names: [String] = []

    public init(_ tools: [any Tool] = []) {
        for tool in tools { register(tool) }
    }

    /// Adds a tool, replacing one of the same name.
    public mutating func register(_ tool: any Tool) {
        if byName.updateValue(tool, forKey: tool.name) == nil {
            names.append(tool.name)
        }
    }

    public func tool(named name: String) -> (any Tool)? { byName[name] }

    public var tools: [any Tool] { names.compactMap { byName[$0] } }

    public var specs: [ToolSpec] { tools.map(\.spec) }

    /// Herald's built-in tools.
    public static func standard(docs: DocsIndex) -> ToolRegistry {
        ToolRegistry([
            CalculatorTool(),
            ClockTool(),
            WaitTool(),
            SearchDocsTool(index: docs),
        ])
    }
}
