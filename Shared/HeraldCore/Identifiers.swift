import Foundation

/// Random identifiers for runs, threads, connections and consumers.
public enum Identifier {
    /// A prefixed random id such as `run_3f9a…`; only letters, digits and `_`, safe in keys and JSON.
    public static func make(_ kind: String) -> String {
        let raw = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        return "\(kind)_\(raw.prefix(20))"
    }
}
