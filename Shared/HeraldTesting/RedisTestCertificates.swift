import Foundation

/// Certificates for TLS tests, made at run time with the openssl CLI: a CA of their own, a server certificate and a
/// client certificate it signs, each with its unencrypted key, as PEM files in a temporary directory that goes
/// away with the last reference. Two sets never trust each other, which is how a test gets a wrong CA.
public final class RedisTestCertificates: Sendable {
    public let directory: URL
    /// The server certificate's subject alternative names, e.g. `["IP:127.0.0.1", "DNS:localhost"]`.
    public let serverNames: [String]

    public var caFile: String { file("ca.crt") }
    public var serverCertificateFile: String { file("server.crt") }
    public var serverKeyFile: String { file("server.key") }
    public var clientCertificateFile: String { file("client.crt") }
    public var clientKeyFile: String { file("client.key") }

    /// The server name a client of 127.0.0.1 checks: nil when the certificate carries that address, else its first
    /// DNS name.
    public var nameForLoopback: String? {
        guard !serverNames.contains("IP:127.0.0.1") else { return nil }
        return serverNames.first { $0.hasPrefix("DNS:") }.map { String($0.dropFirst(4)) }
    }

    private init(directory: URL, serverNames: [String]) {
        self.directory = directory
        self.serverNames = serverNames
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Makes a CA and the server and client certificates it signs (P-256 keys, valid for two days).
    public static func make(serverNames: [String] = ["IP:127.0.0.1", "DNS:localhost"]) async throws -> RedisTestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificates = RedisTestCertificates(directory: directory, serverNames: serverNames)
        let config = certificates.file("openssl.cnf")
        try Data(opensslConfiguration(serverNames: serverNames).utf8).write(to: URL(fileURLWithPath: config))
        let newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try await openssl(
            ["req", "-x509", "-config", config, "-extensions", "ca"] + newKey
                + ["-keyout", certificates.file("ca.key"), "-out", certificates.caFile, "-days", "2", "-subj", "/CN=Herald Test CA"]
        )
        for (name, subject, extensions) in [("server", "/CN=redis.test", "server"), ("client", "/CN=herald", "client")] {
            try await openssl(
                ["req", "-new", "-config", config] + newKey
                    + ["-keyout", certificates.file("\(name).key"), "-out", certificates.file("\(name).csr"), "-subj", subject]
            )
            try await openssl([
                "x509", "-req", "-in", certificates.file("\(name).csr"), "-CA", certificates.caFile, "-CAkey", certificates.file("ca.key"),
                "-set_serial", "0x" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16),
                "-out", certificates.file("\(name).crt"), "-days", "2", "-extfile", config, "-extensions", extensions,
            ])
        }
        return certificates
    }

    private func file(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    private static func opensslConfiguration(serverNames: [String]) -> String {
        """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = Herald Test
        [ca]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        [server]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature,keyEncipherment
        extendedKeyUsage = serverAuth
        subjectAltName = \(serverNames.joined(separator: ","))
        [client]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = clientAuth

        """
    }

    private static func openssl(_ arguments: [String]) async throws {
        guard let executable = ChildProcess.executablePath(named: "openssl") else {
            throw TestSupportError("openssl is not in PATH (install the openssl package)")
        }
        let process = try ChildProcess.spawn(executable, arguments: arguments, output: .capture())
        let status = await process.waitForExit()
        let output = await process.waitForOutputEnd()
        guard status == 0 else {
            throw TestSupportError("openssl \(arguments.prefix(2).joined(separator: " ")) failed with status \(status):\n\(output)")
        }
    }
}
