import HeraldProtocol
import JWTKit

/// A JWT's claims as sent, whatever they are: which claim holds the user id is a setting, and the time, issuer and
/// audience checks are `TokenPolicy`'s, with its leeway, not jwt-kit's.
struct TokenClaims: JWTPayload, Equatable {
    var values: [String: JSONValue]

    init(_ values: [String: JSONValue]) {
        self.values = values
    }

    init(from decoder: any Decoder) throws {
        values = try [String: JSONValue](from: decoder)
    }

    func encode(to encoder: any Encoder) throws {
        try values.encode(to: encoder)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
