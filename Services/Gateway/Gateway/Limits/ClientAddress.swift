import HTTPTypes
import NIOCore

/// An IP network (`10.0.0.0/8`, `fd00::/8`, or one address) in `HERALD_TRUSTED_PROXIES`.
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefixLength: Int

    /// Parses `address[/prefix]`; nil for anything else.
    public init?(_ text: Substring) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let bytes = ClientAddress.bytes(of: String(first)) else { return nil }
        let bits = bytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : bits
        guard let prefix, (0...bits).contains(prefix) else { return nil }
        self.bytes = bytes
        self.prefixLength = prefix
    }

    func contains(_ address: [UInt8]) -> Bool {
        guard address.count == bytes.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(bytes, address) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            guard mine & mask == theirs & mask else { return false }
            remaining -= 8
        }
        return true
    }

    public var description: String {
        let address = (try? SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes), port: 0))?.ipAddress ?? "?"
        return "\(address)/\(prefixLength)"
    }
}

/// Which client a request comes from, for the limits that count per client (new guests): its peer's address, or,
/// when the peer is a proxy in `HERALD_TRUSTED_PROXIES`, the right-most `X-Forwarded-For` address that is not a
/// trusted proxy itself (the left-hand ones are whatever the client chose to send). An IPv6 client counts by its /64.
enum ClientAddress {
    static func key(peer: SocketAddress?, forwardedFor: [String], trustedProxies: [IPNetwork]) -> String {
        guard let peer, let peerBytes = bytes(of: peer), isTrusted(peerBytes, trustedProxies) else {
            return addressKey(peer)
        }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var nearest = peer
        for hop in hops.reversed() {
            guard let address = try? SocketAddress(ipAddress: hop, port: 0), let hopBytes = bytes(of: address) else { break }
            nearest = address
            if !isTrusted(hopBytes, trustedProxies) { break }
        }
        return addressKey(nearest)
    }

    /// The part of a client's address that names one client: the whole IPv4 address, the /64 of an IPv6 one (a
    /// single host is commonly given a whole /64 and may pick any address in it).
    static func addressKey(_ address: SocketAddress?) -> String {
        guard let address else { return "unknown" }
        switch address {
        case .v4:
            return address.ipAddress ?? "unknown"
        case .v6:
            // An IPv4-mapped address (::ffff:a.b.c.d) is its IPv4 address.
            if let full = address.ipAddress, full.hasPrefix("::ffff:"), full.contains(".") { return String(full.dropFirst(7)) }
            let bytes = bytes(of: address) ?? []
            return stride(from: 0, to: 8, by: 2).map { String(format: "%02x%02x", bytes[$0], bytes[$0 + 1]) }.joined(separator: ":") + "::/64"
        case .unixDomainSocket:
            return "local"
        }
    }

    private static func isTrusted(_ address: [UInt8], _ networks: [IPNetwork]) -> Bool {
        networks.contains { $0.contains(address) }
    }

    static func bytes(of text: String) -> [UInt8]? {
        (try? SocketAddress(ipAddress: text, port: 0)).flatMap(bytes(of:))
    }

    static func bytes(of address: SocketAddress) -> [UInt8]? {
        switch address {
        case .v4(let v4):
            var raw = v4.address.sin_addr
            return withUnsafeBytes(of: &raw) { Array($0) }
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            return withUnsafeBytes(of: &raw) { Array($0) }
        case .unixDomainSocket:
            return nil
        }
    }
}

extension HTTPField.Name {
    /// The addresses a request passed through, client first (de facto standard; RFC 7239's `Forwarded` is rarer).
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
