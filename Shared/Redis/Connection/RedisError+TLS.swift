import NIOSSL

extension RedisError {
    /// Turns an error of the TLS layer into one clear line that says what to check; nil for any other error.
    /// `afterHandshake`: the client's side of the handshake had completed (with TLS 1.3 Redis refuses a client
    /// certificate only then, which still counts as the handshake failing).
    static func tls(_ error: any Error, endpoint: String, checkedName: String, tls: RedisTLS, afterHandshake: Bool) -> RedisError? {
        let text: String
        switch error {
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            let advice =
                tls.serverName == nil
                ? "the URL's host; set \(tls.names.serverName) to a name the certificate carries"
                : "check \(tls.names.serverName)"
            return RedisError(
                kind: .tls(.nameMismatch),
                message: "TLS handshake with \(endpoint) failed: Redis's certificate is not valid for \(checkedName) (\(advice))"
            )
        case let error as NIOSSLError:
            text = "\(error)"
        case let error as BoringSSLError:
            text = "\(error)"
        case is NIOSSLExtraError, is NIOSSLCloseTimedOutError:
            text = "\(error)"
        default:
            return nil
        }

        let (failure, detail): (RedisTLSFailure, String)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            let advice =
                tls.hasCAFile
                ? "is \(tls.names.caFile) the CA that signed Redis's certificate?"
                : "no CA of the system's trust roots signed Redis's certificate; set \(tls.names.caFile) to the CA that did"
            (failure, detail) = (.untrustedCertificate, "certificate verify failed (\(advice))")
        } else if text.contains("CERTIFICATE_REQUIRED") || (!tls.hasClientCertificate && text.contains("ALERT_HANDSHAKE_FAILURE")) {
            (failure, detail) = (
                .clientCertificateRequired,
                "Redis requires a client certificate (set \(tls.names.certificateFile) and \(tls.names.keyFile))"
            )
        } else if tls.hasClientCertificate
            && ["ALERT_UNKNOWN_CA", "ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_UNKNOWN", "ALERT_UNSUPPORTED_CERTIFICATE", "ALERT_HANDSHAKE_FAILURE"]
                .contains(where: text.contains)
        {
            (failure, detail) = (
                .clientCertificateRefused,
                "Redis refused the client certificate (is \(tls.names.certificateFile) signed by a CA Redis trusts, tls-ca-cert-file?)"
            )
        } else if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") || text.contains("HTTP_REQUEST") {
            (failure, detail) = (.notTLS, "the server does not speak TLS (is this Redis's tls-port? use redis:// for a plain port)")
        } else if afterHandshake {
            return RedisError(kind: .tls(.other), message: "TLS connection to \(endpoint) failed: \(text)")
        } else {
            (failure, detail) = (.other, text)
        }
        return RedisError(kind: .tls(failure), message: "TLS handshake with \(endpoint) failed: \(detail)")
    }
}
