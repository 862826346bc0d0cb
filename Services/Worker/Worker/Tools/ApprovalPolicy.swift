import Foundation

/// Which tools need a person's approval besides those that declare it (`HERALD_APPROVAL_TOOLS`).
public struct ApprovalPolicy: Sendable, Equatable {
    /// Every tool.
    public var coversAll: Bool
    /// Tools named by the operator.
    public var names: Set<String>

    public init(coversAll: Bool = false, names: Set<String> = []) {
        self.coversAll = coversAll
        self.names = names
    }

    /// Only the tools that declare it.
    public static let declared = ApprovalPolicy()

    /// Reads the setting's value: comma-separated tool names, `*` for all, empty for none.
    public init(setting: String) {
        let names = setting.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        self.init(coversAll: names.contains("*"), names: Set(names.filter { $0 != "*" }))
    }

    public func covers(_ toolName: String) -> Bool {
        coversAll || names.contains(toolName)
    }
}
