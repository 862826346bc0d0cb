/// A parsed `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS) URL.
///
/// `redis://:password@host` and `redis://password@host` give a password only (`AUTH password`);
/// `redis://user:password@host` authenticates as an ACL user. User and password may be percent-encoded.
/// The port defaults to 6379 and the database to 0. A `rediss://` URL needs a `RedisTLS` in its configuration.
public struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    /// Whether the connection is TLS (`rediss://`).
    public var tls: Bool
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int

    public init(tls: Bool = false, host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.tls = tls
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    public init(_ string: String) throws {
        func invalid(_ reason: String) -> RedisError {
            RedisError(kind: .invalidURL, message: "'\(Self.redacted(string))': \(reason)")
        }

        guard let schemeEnd = string.firstRange(of: "://") else {
            throw invalid("expected redis://[user:password@]host[:port][/db] (or rediss:// for TLS)")
        }
        switch string[..<schemeEnd.lowerBound].lowercased() {
        case "redis": tls = false
        case "rediss": tls = true
        default: throw invalid("the scheme must be redis:// (or rediss:// for TLS)")
        }
        var rest = string[schemeEnd.upperBound...]
        guard !rest.contains("?"), !rest.contains("#") else { throw invalid("query parameters and fragments are not supported") }

        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }

        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = userInfo[..<colon]
                guard let username = Self.percentDecoded(user), let password = Self.percentDecoded(userInfo[userInfo.index(after: colon)...]) else {
                    throw invalid("bad percent-encoding in the credentials")
                }
                self.username = user.isEmpty ? nil : username
                self.password = password
            } else {
                guard let password = Self.percentDecoded(userInfo) else { throw invalid("bad percent-encoding in the credentials") }
                self.username = nil
                self.password = password
            }
        } else {
            self.username = nil
            self.password = nil
        }

        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unclosed '[' in the IPv6 host") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected '\(after)' after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        guard !host.isEmpty else { throw invalid("the host is missing") }

        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw invalid("port '\(portText)' is not a number from 1 to 65535")
            }
            self.port = port
        } else {
            self.port = 6379
        }

        if path.isEmpty {
            database = 0
        } else {
            guard let database = Int(path), database >= 0 else { throw invalid("database '\(path)' is not a non-negative number") }
            self.database = database
        }
    }

    /// The URL with the password replaced by `***`, safe to log.
    public var description: String {
        var credentials = ""
        if username != nil || password != nil {
            credentials = "\(username ?? ""):\(password == nil ? "" : "***")@"
        }
        let host = host.contains(":") ? "[\(host)]" : host
        return "\(tls ? "rediss" : "redis")://\(credentials)\(host):\(port)\(database == 0 ? "" : "/\(database)")"
    }

    private static func redacted(_ string: String) -> String {
        guard let schemeEnd = string.firstRange(of: "://"), let at = string[schemeEnd.upperBound...].lastIndex(of: "@") else { return string }
        return "\(string[..<schemeEnd.upperBound])***\(string[at...])"
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        let decoded = String(decoding: bytes, as: UTF8.self)
        return decoded.utf8.elementsEqual(bytes) ? decoded : nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
