/// Tool names as a language model may take them. Herald names an MCP server's tool `<server>.<tool>` in events, but
/// model APIs allow only letters, digits, `_` and `-` (at most 64): the model is told a name made valid, and its calls
/// are mapped back (`ToolRegistry.tool(named:)` takes either).
public enum ToolNames {
    /// The longest name OpenAI-compatible APIs take.
    public static let maximumModelLength = 64

    /// `name` with every character a model API refuses replaced by `_`, cut to 64.
    public static func modelSafe(_ name: String) -> String {
        var safe = ""
        for scalar in name.unicodeScalars.prefix(maximumModelLength) {
            let isAllowed =
                (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9") || scalar == "_"
                || scalar == "-"
            safe.unicodeScalars.append(isAllowed ? scalar : "_")
        }
        return safe
    }
}
