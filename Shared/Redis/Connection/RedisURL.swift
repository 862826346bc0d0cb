/// A parsed `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS) URL, or a cluster's seed nodes as
/// `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://` for TLS).
///
/// `redis://:password@host` and `redis://password@host` give a password only (`AUTH password`);
/// `redis://user:password@host` authenticates as an ACL user. User and password may be percent-encoded.
/// The port defaults to 6379 and the database to 0. A `rediss://` URL needs a `RedisTLS` in its configuration.
/// A cluster URL has no database (a cluster has only database 0); its first seed is also its `host` and `port`.
public struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    /// Whether the connection is TLS (`rediss://`).
    public var tls: Bool
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// The nodes a cluster client asks for the topology, in the order given; empty for a single-node URL.
    public var clusterSeeds: [RedisClusterAddress]

    /// Whether this is a `redis+cluster://` (or `rediss+cluster://`) URL.
    public var isCluster: Bool { !clusterSeeds.isEmpty }

    public init(tls: Bool = false, host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.tls = tls
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.clusterSeeds = []
    }

    /// A cluster URL with these seed nodes (at least one).
    public init(tls: Bool = false, clusterSeeds: [RedisClusterAddress], username: String? = nil, password: String? = nil) {
        precondition(!clusterSeeds.isEmpty, "a cluster URL needs at least one seed node")
        self.init(tls: tls, host: clusterSeeds[0].host, port: clusterSeeds[0].port, username: username, password: password)
        self.clusterSeeds = clusterSeeds
    }

    /// The same credentials and TLS for one node of a cluster, as a single-node URL a connection is made with.
    func node(_ address: RedisClusterAddress) -> RedisURL {
        RedisURL(tls: tls, host: address.host, port: address.port, username: username, password: password)
    }

    public init(_ string: String) throws {
        func invalid(_ reason: String) -> RedisError {
            RedisError(kind: .invalidURL, message: "'\(Self.redacted(string))': \(reason)")
        }

        guard let schemeEnd = string.firstRange(of: "://") else {
            throw invalid("expected redis://[user:password@]host[:port][/db] (or rediss:// for TLS)")
        }
        let isCluster: Bool
        switch string[..<schemeEnd.lowerBound].lowercased() {
        case "redis": (tls, isCluster) = (false, false)
        case "rediss": (tls, isCluster) = (true, false)
        case "redis+cluster": (tls, isCluster) = (false, true)
        case "rediss+cluster": (tls, isCluster) = (true, true)
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

        if isCluster {
            guard path.isEmpty else { throw invalid("a cluster has no database to select: remove '/\(path)'") }
            var seeds: [RedisClusterAddress] = []
            for seed in rest.split(separator: ",", omittingEmptySubsequences: false) {
                let (host, port) = try Self.hostAndPort(seed, invalid: invalid)
                seeds.append(RedisClusterAddress(host: host, port: port))
            }
            clusterSeeds = seeds
            host = seeds[0].host
            port = seeds[0].port
            database = 0
            return
        }
        clusterSeeds = []
        (host, port) = try Self.hostAndPort(rest, invalid: invalid)

        if path.isEmpty {
            database = 0
        } else {
            guard let database = Int(path), database >= 0 else { throw invalid("database '\(path)' is not a non-negative number") }
            self.database = database
        }
    }

    /// `host`, `host:port` or `[v6]:port`; the port defaults to 6379.
    private static func hostAndPort(_ rest: Substring, invalid: (String) -> RedisError) throws -> (String, Int) {
        let host: String
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

        guard let portText else { return (host, 6379) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw invalid("port '\(portText)' is not a number from 1 to 65535")
        }
        return (host, port)
    }

    /// The URL with the password replaced by `***`, safe to log.
    public var description: String {
        var credentials = ""
        if username != nil || password != nil {
            credentials = "\(username ?? ""):\(password == nil ? "" : "***")@"
        }
        if isCluster {
            return "\(tls ? "rediss" : "redis")+cluster://\(credentials)\(clusterSeeds.map(\.description).joined(separator: ","))"
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
