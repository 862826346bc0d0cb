import Logging
import Redis

/// The one look at Redis a service takes at start: whether Redis accepts its TLS and its credentials.
///
/// A Redis that is down or unreachable is no reason to stop: services wait for it and `/readyz` says 503 meanwhile.
/// A Redis that answers but refuses the certificate, the name or the password will refuse every retry as well, so
/// that is a bad setting, reported the way every bad setting is.
enum RedisStartupCheck {
    /// The setting Redis's refusal points at, with Redis's reason; nil when Redis accepts the connection or cannot
    /// be reached at all.
    static func refusal(of configuration: RedisConfiguration, logger: Logger) async -> SettingError? {
        do {
            let connection = try await RedisConnection.connect(configuration: configuration, logger: logger)
            await connection.close()
            return nil
        } catch let error as RedisError {
            return setting(blamedFor: error, configuration).map { SettingError($0, error.message) }
        } catch {
            return nil
        }
    }

    /// The setting to fix for a refusal no retry gets past; nil for errors that may pass.
    static func setting(blamedFor error: RedisError, _ configuration: RedisConfiguration) -> SettingSpec? {
        switch error.kind {
        case .tls(.untrustedCertificate): .redisTLSCAFile
        case .tls(.nameMismatch): configuration.tls?.serverName == nil ? .redisURL : .redisTLSServerName
        case .tls(.clientCertificateRequired), .tls(.clientCertificateRefused): .redisTLSCertFile
        case .tls(.notTLS), .authenticationFailed: .redisURL
        default: nil
        }
    }
}
