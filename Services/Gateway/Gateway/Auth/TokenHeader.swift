import Foundation

/// The JOSE header of a JWT, read before any key is touched: the algorithm and key it claims decide which key (if
/// any) may check it, so a token cannot pick a weaker check than the key it names allows.
struct TokenHeader: Sendable, Equatable {
    /// `alg`, as written.
    var algorithm: String
    /// `kid`, when present.
    var keyID: String?

    private struct Fields: Decodable {
        var alg: String?
        var kid: String?
        var crit: [String]?
    }

    init(algorithm: String, keyID: String? = nil) {
        self.algorithm = algorithm
        self.keyID = keyID
    }

    /// Reads the header of a compact JWT (`header.payload.signature`).
    init(token: String) throws(UpgradeRefusal) {
        let parts = token.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Self.base64URLDecoded(parts[0]),
            let fields = try? JSONDecoder().decode(Fields.self, from: data)
        else {
            throw .unauthorized("invalid token")
        }
        guard let algorithm = fields.alg, !algorithm.isEmpty else { throw .unauthorized("the token names no algorithm") }
        // RFC 7515 4.1.11: a recipient must refuse a token with critical extensions it does not understand.
        guard fields.crit == nil else { throw .unauthorized("the token has critical header extensions") }
        self.algorithm = algorithm
        self.keyID = fields.kid
    }

    static func base64URLDecoded(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
