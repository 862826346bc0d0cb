import Redis
import Testing

@Suite("RedisURL")
struct RedisURLTests {
    @Test func hostAndPort() throws {
        let url = try RedisURL("redis://cache.internal:6380")
        #expect(url.host == "cache.internal")
        #expect(url.port == 6380)
        #expect(url.username == nil)
        #expect(url.password == nil)
        #expect(url.database == 0)
        #expect(!url.tls)
    }

    @Test func tlsScheme() throws {
        let url = try RedisURL("rediss://herald:s3cret@redis.internal:6380/2")
        #expect(url.tls)
        #expect(url.username == "herald")
        #expect(url.password == "s3cret")
        #expect(url.host == "redis.internal")
        #expect(url.port == 6380)
        #expect(url.database == 2)
        #expect(url.description == "rediss://herald:***@redis.internal:6380/2")
        #expect(try RedisURL("REDISS://localhost").tls)
        #expect(try RedisURL("rediss://localhost").port == 6379)
    }

    @Test func defaults() throws {
        let url = try RedisURL("redis://localhost")
        #expect(url.port == 6379)
        #expect(url.database == 0)
        #expect(try RedisURL("redis://localhost/").database == 0)
    }

    @Test func userPasswordAndDatabase() throws {
        let url = try RedisURL("redis://alice:s3cret@10.0.0.5:7000/4")
        #expect(url.username == "alice")
        #expect(url.password == "s3cret")
        #expect(url.host == "10.0.0.5")
        #expect(url.port == 7000)
        #expect(url.database == 4)
    }

    @Test func passwordOnly() throws {
        let withColon = try RedisURL("redis://:s3cret@localhost:6379")
        #expect(withColon.username == nil)
        #expect(withColon.password == "s3cret")
        let bare = try RedisURL("redis://s3cret@localhost")
        #expect(bare.username == nil)
        #expect(bare.password == "s3cret")
    }

    @Test func percentEncodedCredentials() throws {
        let url = try RedisURL("redis://us%40er:p%3Ass%2Fw@localhost")
        #expect(url.username == "us@er")
        #expect(url.password == "p:ss/w")
    }

    @Test func ipv6Host() throws {
        let url = try RedisURL("redis://[::1]:6390/2")
        #expect(url.host == "::1")
        #expect(url.port == 6390)
        #expect(url.database == 2)
        #expect(url.description == "redis://[::1]:6390/2")
    }

    @Test func descriptionHidesThePassword() throws {
        let url = try RedisURL("redis://alice:s3cret@localhost/1")
        #expect(url.description == "redis://alice:***@localhost:6379/1")
        #expect(!url.description.contains("s3cret"))
    }

    @Test(arguments: [
        ("http://localhost", "the scheme must be redis://"),
        ("localhost:6379", "expected redis://"),
        ("rediss//localhost", "expected redis://[user:password@]host[:port][/db] (or rediss:// for TLS)"),
        ("redis+tls://localhost", "the scheme must be redis:// (or rediss:// for TLS)"),
        ("redis://", "the host is missing"),
        ("redis://:pw@", "the host is missing"),
        ("redis://localhost:abc", "port 'abc' is not a number"),
        ("redis://localhost:0", "port '0' is not a number"),
        ("redis://localhost:70000", "port '70000' is not a number"),
        ("redis://localhost/x", "database 'x' is not a non-negative number"),
        ("redis://localhost/-1", "database '-1' is not a non-negative number"),
        ("redis://localhost?db=1", "query parameters"),
        ("redis://[::1:6379", "unclosed '['"),
        ("redis://a:b%zz@localhost", "bad percent-encoding"),
    ])
    func invalidURLs(text: String, reason: String) {
        #expect {
            _ = try RedisURL(text)
        } throws: { error in
            guard let error = error as? RedisError, error.kind == .invalidURL else { return false }
            return error.message.contains(reason)
        }
    }

    @Test func invalidURLErrorsHideThePassword() {
        #expect {
            _ = try RedisURL("redis://alice:s3cret@localhost:port")
        } throws: { error in
            "\(error)".contains("invalid Redis URL") && !"\(error)".contains("s3cret")
        }
    }

    @Test func configurationFromURL() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost:6380/1")
        #expect(configuration.url.port == 6380)
        #expect(configuration.connectTimeout == .seconds(5))
        #expect(configuration.commandTimeout == .seconds(10))
        #expect(configuration.poolSize == 2)
        #expect(configuration.reconnectBackoff.initial == .milliseconds(50))
        #expect(configuration.reconnectBackoff.maximum == .seconds(2))
        #expect(configuration.tls == nil)
    }

    @Test func tlsConfigurationFromURLTrustsTheSystemRoots() throws {
        let configuration = try RedisConfiguration(url: "rediss://localhost:6380")
        let tls = try #require(configuration.tls)
        #expect(!tls.hasCAFile)
        #expect(!tls.hasClientCertificate)
        #expect(tls.serverName == nil)
    }

    @Test func backoffGrowsToItsMaximum() {
        let backoff = RedisBackoff()
        #expect(backoff.delay(afterFailures: 0) == .zero)
        #expect((.milliseconds(37)...(.milliseconds(50))).contains(backoff.delay(afterFailures: 1)))
        #expect((.milliseconds(75)...(.milliseconds(100))).contains(backoff.delay(afterFailures: 2)))
        #expect((.milliseconds(1500)...(.seconds(2))).contains(backoff.delay(afterFailures: 30)))
    }

    @Test func clusterSeeds() throws {
        let url = try RedisURL("redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002,cache.internal")
        #expect(url.isCluster)
        #expect(!url.tls)
        #expect(
            url.clusterSeeds == [
                RedisClusterAddress(host: "10.0.0.1", port: 7000), RedisClusterAddress(host: "10.0.0.2", port: 7001),
                RedisClusterAddress(host: "::1", port: 7002), RedisClusterAddress(host: "cache.internal", port: 6379),
            ]
        )
        // The first seed doubles as the URL's host, for whatever reads only that.
        #expect(url.host == "10.0.0.1")
        #expect(url.port == 7000)
        #expect(url.database == 0)
        #expect(url.description == "redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002,cache.internal:6379")
        #expect(try RedisURL("redis+cluster://one:6379").clusterSeeds == [RedisClusterAddress(host: "one", port: 6379)])
        #expect(try RedisURL("REDIS+CLUSTER://one:6379").isCluster)
    }

    @Test func clusterWithTLSAndCredentialsHidesThePassword() throws {
        let url = try RedisURL("rediss+cluster://herald:s%40cret@a:7000,b:7001")
        #expect(url.tls)
        #expect(url.isCluster)
        #expect(url.username == "herald")
        #expect(url.password == "s@cret")
        #expect(url.description == "rediss+cluster://herald:***@a:7000,b:7001")
        #expect(!url.description.contains("cret"))
        #expect(try RedisURL("redis+cluster://:pw@a:7000").description == "redis+cluster://:***@a:7000")
        let configuration = try RedisConfiguration(url: "rediss+cluster://a:7000,b:7001")
        #expect(configuration.tls != nil)
    }

    @Test func singleNodeURLsAreNotClusters() throws {
        #expect(try !RedisURL("redis://localhost").isCluster)
        #expect(try RedisURL("rediss://localhost:6380").clusterSeeds.isEmpty)
        #expect(!RedisURL(host: "localhost").isCluster)
    }

    @Test(arguments: [
        "redis+cluster://", "redis+cluster://a:7000,", "redis+cluster://a:7000,,b:7001", "redis+cluster://a:0",
        "redis+cluster://a:7000,b:x", "redis+cluster://a:7000/1", "redis+cluster://a:7000?x=1", "redis+sentinel://a:7000",
        "redis+cluster://[::1:7000",
    ])
    func invalidClusterURLs(_ text: String) {
        #expect(throws: RedisError.self) { try RedisURL(text) }
    }

    @Test func invalidClusterURLErrorHidesThePassword() {
        let error = #expect(throws: RedisError.self) { try RedisURL("redis+cluster://u:topsecret@a:7000,b:bad") }
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains("topsecret") == false)
    }
}
