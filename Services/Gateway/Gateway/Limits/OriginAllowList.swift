import Foundation

/// Which browser origins may open a WebSocket (`HERALD_ALLOWED_ORIGINS`).
///
/// Empty (the default) or `*` lets any origin in: the gateway does not authenticate with cookies, so
/// a page on another site cannot act as a user without that user's token. A list narrows it to the
/// deployment's own pages. Requests without `Origin` (non-browser clients) are always let in.
public struct OriginAllowList: Sendable, Equatable, CustomStringConvertible {
    /// Normalized origins (`scheme://host[:port]`, lower case, default port dropped); nil allows any.
    public let origins: Set<String>?

    /// Any origin.
    public static let any = OriginAllowList(origins: nil)

    private init(origins: Set<String>?) {
        self.origins = origins
    }

    /// Parses a comma-separated list of origins such as `https://chat.example.com, http://localhost:8080`;
    /// an empty list or a `*` entry allows any origin.
    public init(parsing text: String) throws(OriginListError) {
        let entries = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if entries.isEmpty || entries.contains("*") {
            self.init(origins: nil)
            return
        }
        var origins = Set<String>()
        for entry in entries {
            guard let origin = Self.normalize(entry) else { throw OriginListError(entry: entry) }
            origins.insert(origin)
        }
        self.init(origins: origins)
    }

    /// Whether an upgrade with this `Origin` header (nil when absent) may proceed.
    public func allows(_ origin: String?) -> Bool {
        guard let origins, let origin else { return true }
        guard let normalized = Self.normalize(origin) else { return false }
        return origins.contains(normalized)
    }

    public var description: String {
        origins.map { $0.sorted().joined(separator: ",") } ?? "*"
    }

    /// `scheme://host[:port]` for http(s) with a plain host and no path, query or credentials; nil otherwise.
    static func normalize(_ text: String) -> String? {
        var value = text.lowercased()
        if value.hasSuffix("/") { value.removeLast() }
        let scheme: String
        if value.hasPrefix("https://") {
            scheme = "https"
        } else if value.hasPrefix("http://") {
            scheme = "http"
        } else {
            return nil
        }
        let authority = value.dropFirst(scheme.count + 3)
        guard !authority.isEmpty, !authority.contains(where: { "/?#@ \\".contains($0) }) else { return nil }
        var host = authority
        var port: Int?
        // A port follows the last colon, except inside an IPv6 literal such as [::1].
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            let digits = authority[authority.index(after: colon)...]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(digits), (1...65535).contains(number) else {
                return nil
            }
            host = authority[..<colon]
            port = number
        }
        guard !host.isEmpty else { return nil }
        switch (scheme, port) {
        case (_, nil), ("https", 443?), ("http", 80?): return "\(scheme)://\(host)"
        case (_, let port?): return "\(scheme)://\(host):\(port)"
        }
    }
}

/// An entry of `HERALD_ALLOWED_ORIGINS` that is not an http(s) origin.
public struct OriginListError: Error, Sendable, CustomStringConvertible {
    public let entry: String
    public var description: String {
        "'\(entry)' is not an origin such as https://chat.example.com (scheme, host and optional port; no path)"
    }
}
