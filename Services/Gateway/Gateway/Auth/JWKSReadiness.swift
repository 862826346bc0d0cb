import Foundation
import HeraldCore

/// `/readyz`'s line on the identity provider's keys: not ready until a fetch succeeded; ready, with the failure
/// named, while the keys fetched before stand in for a provider that cannot be reached.
struct JWKSReadiness: ReadinessCheck {
    let keys: JWKSKeySet

    func check() async -> (isReady: Bool, detail: String) {
        switch await keys.health {
        case .noKeys(let reason):
            return (false, "jwks: no keys yet (\(keys.url)): \(reason)")
        case .fresh(let count, let fetchedAt):
            return (true, "jwks: \(count) keys, fetched \(Self.age(of: fetchedAt)) ago")
        case .stale(let count, let fetchedAt, let reason):
            return (true, "jwks: stale, using \(count) keys fetched \(Self.age(of: fetchedAt)) ago; the last fetch failed: \(reason)")
        }
    }

    private static func age(of date: Date) -> String {
        "\(max(0, Int(Date().timeIntervalSince(date)))) s"
    }
}
