/// Where a cluster node takes client connections: a host name or IP address (an IPv6 address without brackets)
/// and a port.
public struct RedisClusterAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 address in brackets (`[::1]:6381`) so the port stays readable.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func < (lhs: RedisClusterAddress, rhs: RedisClusterAddress) -> Bool {
        (lhs.host, lhs.port) < (rhs.host, rhs.port)
    }

    /// Reads `host:port`, `[v6]:port` or the bare `v6:port` Redis writes in redirects (the port is after the last
    /// colon); nil unless the port is a decimal number in 0...65535. The host may be empty (`:6381`).
    static func parseHostAndPort(_ text: Substring) -> (host: Substring, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.utf8.count <= 5, portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let port = Int(portText), port <= 65_535
        else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return nil }
            host = host.dropFirst().dropLast()
        }
        return (host, port)
    }
}
