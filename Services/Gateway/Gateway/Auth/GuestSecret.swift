import Redis

/// The secret every gateway of a deployment signs guest tokens with, kept in Redis.
enum GuestSecret {
    /// Reads the deployment's secret, creating it from 32 random bytes if no gateway has yet.
    static func load(redis: RedisClient, key: String) async throws -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let candidate = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let candidateText = candidate.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
        // SET … NX GET is one atomic step: it stores our candidate only if no secret exists
        // and answers with the secret that was there, so racing gateways agree on one.
        let existing = try await redis.send("SET", key, candidateText, "NX", "GET")
        if let text = existing.string {
            return Array(text.utf8)
        }
        return Array(candidateText.utf8)
    }
}
