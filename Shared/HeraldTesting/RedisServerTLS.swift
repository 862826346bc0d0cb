import Redis

/// How a private `redis-server` takes TLS: the certificates it serves and trusts, and whether every client must
/// present a certificate (`tls-auth-clients yes`) or may (`optional`).
public struct RedisServerTLS: Sendable {
    /// Redis's `tls-auth-clients`.
    public enum ClientCertificates: String, Sendable {
        case optional
        case required = "yes"
    }

    public let certificates: RedisTestCertificates
    public var clientCertificates: ClientCertificates

    public init(certificates: RedisTestCertificates, clientCertificates: ClientCertificates = .required) {
        self.certificates = certificates
        self.clientCertificates = clientCertificates
    }

    /// New certificates (see `RedisTestCertificates.make`) and the given client certificate rule.
    public static func make(
        serverNames: [String] = ["IP:127.0.0.1", "DNS:localhost"],
        clientCertificates: ClientCertificates = .required
    ) async throws -> RedisServerTLS {
        RedisServerTLS(certificates: try await RedisTestCertificates.make(serverNames: serverNames), clientCertificates: clientCertificates)
    }

    var serverOptions: [String] {
        [
            "--tls-cert-file", certificates.serverCertificateFile,
            "--tls-key-file", certificates.serverKeyFile,
            "--tls-ca-cert-file", certificates.caFile,
            "--tls-auth-clients", clientCertificates.rawValue,
        ]
    }
}

extension RedisServerProcess {
    /// What the harness's own connections use: the default user with the server's password, over TLS when the
    /// server has it.
    var adminConfiguration: RedisConfiguration {
        Self.adminConfiguration(port: port, password: password, tls: adminTLS)
    }

    static func adminConfiguration(port: Int, password: String?, tls: RedisTLS?) -> RedisConfiguration {
        RedisConfiguration(url: RedisURL(tls: tls != nil, host: "127.0.0.1", port: port, password: password), tls: tls)
    }

    /// A client configuration for this server as `username` (nil: the default user) with `password`; over TLS
    /// when the server has it, trusting the server's CA, with the client certificate when `clientCertificate`.
    public func configuration(
        username: String? = nil,
        password: String? = nil,
        clientCertificate: Bool = true,
        serverName: String? = nil
    ) throws -> RedisConfiguration {
        let url = RedisURL(tls: tls != nil, host: "127.0.0.1", port: port, username: username, password: password)
        guard let tls else { return RedisConfiguration(url: url) }
        let certificates = tls.certificates
        return RedisConfiguration(
            url: url,
            tls: try RedisTLS(
                caFile: certificates.caFile,
                certificateFile: clientCertificate ? certificates.clientCertificateFile : nil,
                keyFile: clientCertificate ? certificates.clientKeyFile : nil,
                serverName: serverName
            )
        )
    }
}
