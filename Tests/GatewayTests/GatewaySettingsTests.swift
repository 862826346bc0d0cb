import HeraldCore
import Testing

@testable import Gateway

@Suite("Gateway settings")
struct GatewaySettingsTests {
    private func resolve(_ arguments: [String] = [], _ environment: [String: String] = [:]) throws -> GatewaySettings {
        try GatewayOptions.parse(arguments).resolve(SettingsResolver(environment: environment))
    }

    @Test("the limits' defaults")
    func defaults() throws {
        let settings = try resolve()
        #expect(settings.maxFrameBytes == 65_536)
        #expect(settings.maxMessageCharacters == 16_000)
        #expect(settings.rateLimitPerSecond == 10)
        #expect(settings.rateLimitBurst == 40)
        #expect(settings.maxConnectionsPerUser == 20)
        #expect(settings.maxThreadsPerConnection == 100)
        #expect(settings.upgradeTimeout == .seconds(10))
        #expect(settings.idleTimeout == .seconds(90))
        #expect(settings.allowedOrigins == .any)
    }

    @Test("the environment sets the limits and flags win over it")
    func precedence() throws {
        let environment = [
            "HERALD_MAX_MESSAGE_CHARS": "500",
            "HERALD_RATE_LIMIT_PER_SECOND": "3",
            "HERALD_RATE_LIMIT_BURST": "6",
            "HERALD_MAX_CONNECTIONS_PER_USER": "4",
            "HERALD_MAX_THREADS_PER_CONNECTION": "7",
            "HERALD_UPGRADE_TIMEOUT_SECONDS": "5",
            "HERALD_IDLE_TIMEOUT_SECONDS": "120",
            "HERALD_ALLOWED_ORIGINS": "https://chat.example.com, http://localhost:8080/",
        ]
        let settings = try resolve(["--rate-limit-burst", "9", "--allowed-origins", "*"], environment)
        #expect(settings.maxMessageCharacters == 500)
        #expect(settings.rateLimitPerSecond == 3)
        #expect(settings.rateLimitBurst == 9)
        #expect(settings.maxConnectionsPerUser == 4)
        #expect(settings.maxThreadsPerConnection == 7)
        #expect(settings.upgradeTimeout == .seconds(5))
        #expect(settings.idleTimeout == .seconds(120))
        #expect(settings.allowedOrigins == .any)
        let listed = try resolve([], environment).allowedOrigins
        #expect(listed.origins == ["https://chat.example.com", "http://localhost:8080"])
    }

    @Test("bad limits fail at start with one line naming the setting")
    func invalid() {
        let cases: [([String: String], String)] = [
            (["HERALD_MAX_MESSAGE_CHARS": "0"], "HERALD_MAX_MESSAGE_CHARS"),
            (["HERALD_RATE_LIMIT_PER_SECOND": "fast"], "HERALD_RATE_LIMIT_PER_SECOND"),
            (["HERALD_RATE_LIMIT_BURST": "-1"], "HERALD_RATE_LIMIT_BURST"),
            (["HERALD_MAX_CONNECTIONS_PER_USER": "0"], "HERALD_MAX_CONNECTIONS_PER_USER"),
            (["HERALD_MAX_THREADS_PER_CONNECTION": "0"], "HERALD_MAX_THREADS_PER_CONNECTION"),
            (["HERALD_UPGRADE_TIMEOUT_SECONDS": "0"], "HERALD_UPGRADE_TIMEOUT_SECONDS"),
            (["HERALD_IDLE_TIMEOUT_SECONDS": "30"], "HERALD_PING_INTERVAL_SECONDS"),
            (["HERALD_IDLE_TIMEOUT_SECONDS": "50", "HERALD_PING_INTERVAL_SECONDS": "60"], "must be longer"),
            (["HERALD_ALLOWED_ORIGINS": "chat.example.com"], "HERALD_ALLOWED_ORIGINS: 'chat.example.com'"),
            (["HERALD_ALLOWED_ORIGINS": "https://chat.example.com/app"], "HERALD_ALLOWED_ORIGINS"),
        ]
        for (environment, mention) in cases {
            do {
                _ = try resolve([], environment)
                Issue.record("\(environment) was accepted")
            } catch {
                #expect("\(error)".contains(mention), "\(environment) → \(error)")
            }
        }
    }
}

@Suite("Origin allow-list")
struct OriginAllowListTests {
    @Test("empty or * allows any origin; a list allows only its origins, compared as browsers send them")
    func matching() throws {
        for text in ["", " , ", "*", "https://a.example, *"] {
            let list = try OriginAllowList(parsing: text)
            #expect(list == .any, "'\(text)'")
            #expect(list.allows("https://anything.example"))
            #expect(list.allows("null"))
        }
        let list = try OriginAllowList(parsing: "https://Chat.Example.com:443, http://localhost:8080, http://[::1]:9000")
        #expect(list.origins == ["https://chat.example.com", "http://localhost:8080", "http://[::1]:9000"])
        for allowed in [
            "https://chat.example.com", "HTTPS://CHAT.EXAMPLE.COM", "https://chat.example.com/", "http://localhost:8080", "http://[::1]:9000",
        ] {
            #expect(list.allows(allowed), "\(allowed)")
        }
        for refused in [
            "http://chat.example.com", "https://chat.example.com:8443", "https://evil.example", "http://localhost", "null", "",
            "https://chat.example.com.evil.example",
        ] {
            #expect(!list.allows(refused), "\(refused)")
        }
        // No Origin header: not a browser, nothing for the list to decide.
        #expect(list.allows(nil))
    }

    @Test("entries that are not origins are refused with the entry named")
    func invalid() {
        for entry in [
            "chat.example.com", "ftp://chat.example.com", "https://", "https://:80", "https://a.example/path", "https://a.example?x=1",
            "https://user@a.example", "https://a.example:0", "https://a.example:99999", "https://a.example:+80", "https://a.example:",
        ] {
            #expect(throws: OriginListError.self, "\(entry)") { try OriginAllowList(parsing: "https://ok.example, \(entry)") }
        }
    }
}
