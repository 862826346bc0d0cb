/// What a failed TLS handshake with Redis disagreed on, so callers can tell which option to fix.
public enum RedisTLSFailure: Sendable, Hashable {
    /// Redis's certificate does not chain to a trusted CA (`certificate verify failed`).
    case untrustedCertificate
    /// Redis's certificate is not valid for the name (or IP address) checked.
    case nameMismatch
    /// Redis requires a client certificate and none was given.
    case clientCertificateRequired
    /// Redis refused the client certificate (not signed by a CA it trusts, or otherwise unacceptable).
    case clientCertificateRefused
    /// The other side does not speak TLS (most likely Redis's plain port).
    case notTLS
    /// Anything else the TLS layer reported.
    case other
}
