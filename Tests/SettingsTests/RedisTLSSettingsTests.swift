import ArgumentParser
import Foundation
import HeraldCore
import Testing

/// HERALD_REDIS_TLS_…: checked at start, each refusal one line naming the setting. (Good certificates are made by
/// openssl in RedisIntegrationTests and EndToEndTests; these need none.)
@Suite("Redis TLS settings")
struct RedisTLSSettingsTests {
    private func refusal(_ environment: [String: String], flags: [String] = []) -> String? {
        do {
            _ = try CommonOptions.parse(flags).resolve(SettingsResolver(environment: environment))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("rediss:// without TLS files trusts the system's roots; redis:// has no TLS")
    func defaults() throws {
        let tls = try #require(
            try CommonOptions.parse([]).resolve(SettingsResolver(environment: ["HERALD_REDIS_URL": "rediss://h:pw@redis.internal"])).redis.tls
        )
        #expect(!tls.hasCAFile && !tls.hasClientCertificate && tls.serverName == nil)
        #expect(try CommonOptions.parse([]).resolve(SettingsResolver(environment: [:])).redis.tls == nil)
    }

    @Test("a TLS setting beside a plain redis:// URL is refused rather than ignored")
    func plainURL() {
        #expect(
            refusal(["HERALD_REDIS_URL": "redis://127.0.0.1:6379", "HERALD_REDIS_TLS_CA_FILE": "/etc/ca.pem"])
                == "HERALD_REDIS_TLS_CA_FILE: is set, but HERALD_REDIS_URL is a plain redis:// URL; use rediss:// for TLS"
        )
        #expect(
            refusal([:], flags: ["--redis-tls-server-name", "redis.internal"])
                == "HERALD_REDIS_TLS_SERVER_NAME: is set, but HERALD_REDIS_URL is a plain redis:// URL; use rediss:// for TLS"
        )
    }

    @Test("a certificate without its key, or the reverse, names the missing one")
    func certificateAndKeyGoTogether() {
        #expect(
            refusal(["HERALD_REDIS_URL": "rediss://redis", "HERALD_REDIS_TLS_CERT_FILE": "/etc/client.pem"])
                == "HERALD_REDIS_TLS_KEY_FILE: is not set, but HERALD_REDIS_TLS_CERT_FILE is; a client certificate needs its private key"
        )
        #expect(
            refusal(["HERALD_REDIS_URL": "rediss://redis", "HERALD_REDIS_TLS_KEY_FILE": "/etc/client.key"])
                == "HERALD_REDIS_TLS_CERT_FILE: is not set, but HERALD_REDIS_TLS_KEY_FILE is; a private key needs its client certificate"
        )
    }

    @Test("an unreadable file or one without PEM names the setting and the file")
    func badFiles() throws {
        let notPEM = FileManager.default.temporaryDirectory.appendingPathComponent("herald-not-pem-\(UUID().uuidString).txt")
        try Data("not a certificate\n".utf8).write(to: notPEM)
        defer { try? FileManager.default.removeItem(at: notPEM) }
        #expect(
            refusal(["HERALD_REDIS_URL": "rediss://redis", "HERALD_REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"])
                == "HERALD_REDIS_TLS_CA_FILE: cannot read /nonexistent/ca.pem: No such file or directory"
        )
        #expect(
            refusal(["HERALD_REDIS_URL": "rediss://redis"], flags: ["--redis-tls-ca-file", notPEM.path])
                == "HERALD_REDIS_TLS_CA_FILE: \(notPEM.path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )
        #expect(
            refusal(["HERALD_REDIS_URL": "rediss://redis", "HERALD_REDIS_TLS_CERT_FILE": notPEM.path, "HERALD_REDIS_TLS_KEY_FILE": notPEM.path])
                == "HERALD_REDIS_TLS_CERT_FILE: \(notPEM.path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )
    }

    @Test("the server name must be a DNS name")
    func serverName() {
        #expect(
            refusal(["HERALD_REDIS_URL": "rediss://10.0.0.5", "HERALD_REDIS_TLS_SERVER_NAME": "10.0.0.5"])
                == "HERALD_REDIS_TLS_SERVER_NAME: '10.0.0.5' is an IP address; give a DNS name (an IP address in the URL is checked against the certificate's IP addresses)"
        )
    }
}
