import HeraldTesting
import Redis
import Testing

@Suite("TLS (rediss://)", .timeLimit(.minutes(1)))
struct TLSTests {
    static let echo = RedisScript("return redis.call('GET', KEYS[1]) .. ARGV[1]")

    @Test("commands, a pipeline, a script, a dedicated connection and pub/sub over TLS", arguments: [false, true])
    func everythingOverTLS(clientCertificate: Bool) async throws {
        let tls = try await RedisServerTLS.make(clientCertificates: clientCertificate ? .required : .optional)
        try await withRedisServer(tls: tls) { server in
            #expect(server.url == "rediss://127.0.0.1:\(server.port)")
            let configuration = try server.configuration(clientCertificate: clientCertificate)
            #expect(configuration.tls?.hasClientCertificate == clientCertificate)
            try await withClient(server, { $0 = configuration }) { client in
                _ = try await client.send("SET", "tls:key", "value")
                #expect(try await client.send("GET", "tls:key").string == "value")
                let results = try await client.pipeline([["INCR", "tls:n"], ["INCR", "tls:n"], ["GET", "tls:n"]])
                #expect(try results.map { try $0.get().int } == [1, 2, 2])
                #expect(try await client.evalScript(Self.echo, keys: ["tls:key"], arguments: ["!"]).string == "value!")
                let blocked = try await client.withDedicatedConnection { connection in
                    try await connection.send(["XREAD", "COUNT", "1", "STREAMS", "tls:none", "0"])
                }
                #expect(blocked == .null)

                let subscriber = RedisSubscriber(configuration: configuration, logger: testLogger)
                let running = Task { try await subscriber.run() }
                defer { running.cancel() }
                try await waitUntil("the subscriber connects") { subscriber.isConnected }
                let news = try await subscriber.subscribe("tls:news")
                #expect(try await client.publish("tls:news", "hello") == 1)
                var iterator = news.makeAsyncIterator()
                #expect(try await nextMessage(&iterator) == "hello")
                running.cancel()
                try await running.value
            }
        }
    }

    @Test("a CA that did not sign Redis's certificate is refused with one clear line, on every path")
    func wrongCA() async throws {
        let stranger = try await RedisTestCertificates.make()
        try await withRedisServer(tls: try await RedisServerTLS.make(clientCertificates: .optional)) { server in
            let configuration = RedisConfiguration(url: try RedisURL(server.url), tls: try RedisTLS(caFile: stranger.caFile))
            let expected = RedisError(
                kind: .tls(.untrustedCertificate),
                message:
                    "TLS handshake with 127.0.0.1:\(server.port) failed: certificate verify failed (is the CA file the CA that signed Redis's certificate?)"
            )
            await #expect { _ = try await RedisConnection.connect(configuration: configuration, logger: testLogger) } throws: {
                ($0 as? RedisError) == expected
            }
            try await withClient(server, { $0 = configuration }) { client in
                await #expect { try await client.ping() } throws: { ($0 as? RedisError) == expected }
                await #expect { try await client.withDedicatedConnection { try await $0.ping() } } throws: { ($0 as? RedisError) == expected }
            }
            #expect(expected.description == "Redis \(expected.message)")

            // Without a CA file the system's trust roots are used, and they do not know the test's CA either.
            let system = try RedisConfiguration(url: server.url)
            #expect(system.tls?.hasCAFile == false)
            await #expect {
                _ = try await RedisConnection.connect(configuration: system, logger: testLogger)
            } throws: { error in
                guard let error = error as? RedisError, error.kind == .tls(.untrustedCertificate) else { return false }
                return error.message.contains("no CA of the system's trust roots signed Redis's certificate")
            }
        }
    }

    @Test("the certificate must carry the server name, or else the URL's host")
    func serverName() async throws {
        try await withRedisServer(tls: try await RedisServerTLS.make(serverNames: ["DNS:redis.test"], clientCertificates: .optional)) { server in
            await #expect {
                _ = try await RedisConnection.connect(configuration: try server.configuration(), logger: testLogger)
            } throws: { error in
                (error as? RedisError)
                    == RedisError(
                        kind: .tls(.nameMismatch),
                        message:
                            "TLS handshake with 127.0.0.1:\(server.port) failed: Redis's certificate is not valid for 127.0.0.1 (the URL's host; set the TLS server name to a name the certificate carries)"
                    )
            }
            await #expect {
                _ = try await RedisConnection.connect(configuration: try server.configuration(serverName: "wrong.test"), logger: testLogger)
            } throws: { error in
                (error as? RedisError)
                    == RedisError(
                        kind: .tls(.nameMismatch),
                        message:
                            "TLS handshake with 127.0.0.1:\(server.port) failed: Redis's certificate is not valid for 'wrong.test' (check the TLS server name)"
                    )
            }
            try await withClient(server, { $0 = try! server.configuration(serverName: "redis.test") }) { client in
                try await client.ping()
            }
        }
    }

    @Test("Redis's tls-auth-clients refuses a missing client certificate and one from a CA it does not trust")
    func clientCertificates() async throws {
        let stranger = try await RedisTestCertificates.make()
        try await withRedisServer(tls: try await RedisServerTLS.make(clientCertificates: .required)) { server in
            await #expect {
                _ = try await RedisConnection.connect(configuration: try server.configuration(clientCertificate: false), logger: testLogger)
            } throws: { error in
                (error as? RedisError)
                    == RedisError(
                        kind: .tls(.clientCertificateRequired),
                        message:
                            "TLS handshake with 127.0.0.1:\(server.port) failed: Redis requires a client certificate (set the client certificate file and the client key file)"
                    )
            }
            var foreign = try server.configuration()
            foreign.tls = try RedisTLS(
                caFile: server.tls?.certificates.caFile,
                certificateFile: stranger.clientCertificateFile,
                keyFile: stranger.clientKeyFile
            )
            await #expect {
                _ = try await RedisConnection.connect(configuration: foreign, logger: testLogger)
            } throws: { error in
                (error as? RedisError)?.kind == .tls(.clientCertificateRefused)
            }
        }
    }

    @Test("rediss:// to a plain port gives up after the connect timeout and says why")
    func plainPort() async throws {
        let certificates = try await RedisTestCertificates.make()
        try await withRedisServer { server in
            var configuration = RedisConfiguration(
                url: RedisURL(tls: true, host: "127.0.0.1", port: server.port),
                tls: try RedisTLS(caFile: certificates.caFile)
            )
            // Long enough that the TCP connect itself never runs out on a loaded machine (a 300 ms limit once did,
            // failing with a connect timeout instead): the handshake is what never ends, whatever the limit.
            configuration.connectTimeout = .seconds(2)
            await #expect {
                _ = try await RedisConnection.connect(configuration: configuration, logger: testLogger)
            } throws: { error in
                guard let error = error as? RedisError, error.kind == .tls(.other) else { return false }
                return error.message.hasPrefix("TLS handshake with 127.0.0.1:\(server.port) failed: no answer within ")
                    && error.message.hasSuffix(" (is it Redis's tls-port? a plain port never answers a TLS handshake)")
            }
        }
    }

    @Test("a URL and a configuration that disagree about TLS are refused, not guessed at")
    func schemeAndConfigurationMustAgree() async throws {
        let certificates = try await RedisTestCertificates.make()
        let tls = try RedisTLS(caFile: certificates.caFile)
        await #expect {
            _ = try await RedisConnection.connect(
                configuration: RedisConfiguration(url: RedisURL(tls: true, host: "127.0.0.1", port: 1)),
                logger: testLogger
            )
        } throws: { error in
            (error as? RedisError)?.message == "rediss://127.0.0.1:1 is a TLS URL but the configuration has no RedisTLS"
        }
        await #expect {
            _ = try await RedisConnection.connect(
                configuration: RedisConfiguration(url: RedisURL(host: "127.0.0.1", port: 1), tls: tls),
                logger: testLogger
            )
        } throws: { error in
            (error as? RedisError)?.message == "redis://127.0.0.1:1 is a plain URL but the configuration has TLS; use rediss://"
        }
    }

    @Test("unusable TLS files are refused up front, naming the option and the file")
    func unusableFiles() async throws {
        let certificates = try await RedisTestCertificates.make()
        let other = try await RedisTestCertificates.make()
        func refusal(_ make: () throws(RedisTLS.OptionError) -> RedisTLS) -> RedisTLS.OptionError? {
            do {
                _ = try make()
                return nil
            } catch {
                return error
            }
        }
        let cert = certificates.clientCertificateFile
        let key = certificates.clientKeyFile
        #expect(
            refusal { () throws(RedisTLS.OptionError) in try RedisTLS(certificateFile: cert) }
                == RedisTLS.OptionError(.keyFile, "is not set, but the client certificate file is; a client certificate needs its private key")
        )
        #expect(
            refusal { () throws(RedisTLS.OptionError) in try RedisTLS(keyFile: key) }
                == RedisTLS.OptionError(.certificateFile, "is not set, but the client key file is; a private key needs its client certificate")
        )
        #expect(
            refusal { () throws(RedisTLS.OptionError) in try RedisTLS(caFile: "/nonexistent/ca.pem") }
                == RedisTLS.OptionError(.caFile, "cannot read /nonexistent/ca.pem: No such file or directory")
        )
        #expect(
            refusal { () throws(RedisTLS.OptionError) in try RedisTLS(caFile: certificates.directory.path) }
                == RedisTLS.OptionError(.caFile, "cannot read \(certificates.directory.path): not a regular file")
        )
        #expect(
            refusal { () throws(RedisTLS.OptionError) in try RedisTLS(caFile: key) }
                == RedisTLS.OptionError(.caFile, "\(key) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        )
        #expect(
            refusal { () throws(RedisTLS.OptionError) in try RedisTLS(certificateFile: cert, keyFile: cert) }
                == RedisTLS.OptionError(.keyFile, "\(cert) holds no unencrypted PEM private key (an encrypted key is not supported)")
        )
        #expect(
            refusal { () throws(RedisTLS.OptionError) in try RedisTLS(certificateFile: cert, keyFile: other.clientKeyFile) }
                == RedisTLS.OptionError(.keyFile, "\(other.clientKeyFile) is not the private key of the certificate in \(cert)")
        )
        #expect(
            refusal { () throws(RedisTLS.OptionError) in try RedisTLS(serverName: "10.0.0.1") }
                == RedisTLS.OptionError(
                    .serverName,
                    "'10.0.0.1' is an IP address; give a DNS name (an IP address in the URL is checked against the certificate's IP addresses)"
                )
        )
        #expect(refusal { () throws(RedisTLS.OptionError) in try RedisTLS(certificateFile: cert, keyFile: key, serverName: "redis.test") } == nil)
    }
}
