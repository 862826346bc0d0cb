import Foundation
import HeraldProtocol

extension JSONValue {
    /// The argument `key` as a string; nil when absent or null, a `ToolError` when of another type.
    func stringArgument(_ key: String) throws(ToolError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw ToolError("argument '\(key)' must be a string")
        }
    }

    /// The argument `key` as a number; nil when absent or null, a `ToolError` when of another type.
    func numberArgument(_ key: String) throws(ToolError) -> Double? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let value)?: return value
        case .string(let text)?:
            // Models sometimes quote numbers; accept them when they parse exactly.
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw ToolError("argument '\(key)' must be a number")
            }
            return value
        default: throw ToolError("argument '\(key)' must be a number")
        }
    }
}
