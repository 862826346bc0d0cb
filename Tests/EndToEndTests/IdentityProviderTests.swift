import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Testing

/// Issue #20: tokens of a team's identity provider (DESIGN.md section 3), against a provider written with PyJWT and
/// `cryptography` (Tests/identity/identity_provider.py) that makes its own RSA, P-256 and Ed25519 keys and serves
/// their JWKS. Each token is tried on `/ws` and on every HTTP route that takes one.
@Suite(.timeLimit(.minutes(4)))
struct IdentityProviderTests {
    static let issuer = "https://id.herald.test/"
    static let audience = "herald-chat"

    /// The identity provider's process and port.
    struct Provider {
        let process: ChildProcess
        let port: Int

        static func start() async throws -> Provider {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("identity/identity_provider.py").path
            let port = try FreePort.allocate()
            let process = try ChildProcess.spawn("/usr/bin/env", arguments: ["python3", script, String(port)])
            let provider = Provider(process: process, port: port)
            try await waitUntil("the identity provider listens", interval: .milliseconds(100)) {
                (try? await HTTPProbe.status(port: port, path: "/fetches")) == 200
            }
            return provider
        }

        var jwksURL: String { "http://127.0.0.1:\(port)/jwks.json" }

        func get(_ path: String) async throws -> JSONValue {
            try JSONValue.parse(try await HTTPProbe.get(port: port, path: path).body)
        }

        func post(_ path: String, _ body: JSONValue = .object([:])) async throws -> JSONValue {
            let answer = try await HTTPProbe.request(
                "POST",
                port: port,
                path: path,
                headers: ["Content-Type": "application/json"],
                body: body.jsonString()
            )
            return try JSONValue.parse(answer.body)
        }

        /// A token signed by key `kid`, with the standard claims changed by `changes` (nil removes one).
        func token(
            _ kid: String,
            sub: String = "alice",
            changes: [String: JSONValue?] = [:],
            headerKeyID: JSONValue? = nil,
            alg: String? = nil,
            attack: String? = nil
        ) async throws -> String {
            let now = Date().timeIntervalSince1970
            var claims: [String: JSONValue] = [
                "sub": .string(sub), "iss": .string(IdentityProviderTests.issuer), "aud": .string(IdentityProviderTests.audience),
                "exp": .number((now + 600).rounded()), "iat": .number(now.rounded()),
            ]
            for (name, value) in changes { claims[name] = value }
            var request: [String: JSONValue] = ["kid": .string(kid), "claims": .object(claims)]
            if let headerKeyID { request["header_kid"] = headerKeyID }
            if let attack { request["attack"] = .string(attack) }
            if let alg { request["alg"] = .string(alg) }
            return try await post("/token", .object(request))["token"]?.stringValue ?? ""
        }

        func stop() { _ = process.kill9() }
    }

    private static func environment(_ provider: Provider, _ extra: [String: String] = [:]) -> [String: String] {
        [
            "HERALD_JWT_JWKS_URL": provider.jwksURL, "HERALD_JWT_ISSUER": issuer, "HERALD_JWT_AUDIENCE": "other-app, \(audience)",
            "HERALD_JWT_JWKS_MIN_REFRESH_SECONDS": "1",
        ].merging(extra) { _, new in new }
    }

    /// The status `token` gets on each route, by route.
    private static func statuses(_ token: String?, port: Int, sse: SSETestClient) async throws -> [String: Int] {
        let bearer = token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
        var statuses: [String: Int] = [:]
        statuses["/ws"] =
            try await HTTPProbe.get(port: port, path: "/ws", headers: LogSecrecyTests.upgradeHeaders.merging(bearer) { $1 }, headOnly: true).status
        statuses["/ws?token"] =
            try await HTTPProbe.get(
                port: port,
                path: "/ws" + (token.map { "?token=\($0)" } ?? ""),
                headers: LogSecrecyTests.upgradeHeaders,
                headOnly: true
            )
            .status
        statuses["/api/threads"] = try await HTTPProbe.get(port: port, path: "/api/threads", headers: bearer).status
        let run = JSONValue.object([
            "threadId": .string("idp-\(UUID().uuidString)"), "runId": .string(UUID().uuidString), "state": [:], "tools": [], "context": [],
            "forwardedProps": [:], "messages": [["id": .string(UUID().uuidString), "role": "user", "content": "what is 2+2?"]],
        ])
        statuses["/agui"] = try await sse.send(.POST, "/agui", json: run.jsonString(), headers: bearer).status
        let chat = JSONValue.object([
            "id": .string("idp-\(UUID().uuidString)"), "trigger": "submit-message",
            "messages": [["id": .string(UUID().uuidString), "role": "user", "parts": [["type": "text", "text": "what is 2+2?"]]]],
        ])
        statuses["/api/chat"] = try await sse.send(.POST, "/api/chat", json: chat.jsonString(), headers: bearer).status
        return statuses
    }

    private static func refusal(_ token: String, port: Int) async throws -> String? {
        let answer = try await HTTPProbe.get(port: port, path: "/api/threads", headers: ["Authorization": "Bearer \(token)"])
        return (try? JSONValue.parse(answer.body))?["message"]?.stringValue
    }

    @Test func tokensOfTheProvidersKeysAreAcceptedAndEveryKindOfBadTokenIsRefusedOnEveryRoute() async throws {
        let provider = try await Provider.start()
        defer { provider.stop() }
        var tokens: [String] = []
        let deployment = try await withDeployment(workers: 1, environment: Self.environment(provider, ["HERALD_LOG_LEVEL": "trace"])) { deployment in
            let port = deployment.gatewayPort
            let sse = SSETestClient(port: port)
            let accepted = ["/ws": 101, "/ws?token": 101, "/api/threads": 200, "/agui": 200, "/api/chat": 200]
            let refused = accepted.mapValues { _ in 401 }
            for kid in ["rsa-1", "ec-1", "ed-1"] {
                let token = try await provider.token(kid, sub: "user-\(kid)")
                tokens.append(token)
                #expect(try await Self.statuses(token, port: port, sse: sse) == accepted, "\(kid)")
                let client = try await deployment.connect(token: token)
                #expect(client.userID == "user-\(kid)")
                await client.close()
            }
            let now = Date().timeIntervalSince1970
            let bad: [(String, String, String)] = [
                ("expired", try await provider.token("rsa-1", changes: ["exp": .number(now - 120)]), "token expired"),
                ("not yet valid", try await provider.token("ec-1", changes: ["nbf": .number(now + 600)]), "token not valid yet"),
                ("no expiry", try await provider.token("ed-1", changes: ["exp": nil]), "the token has no expiry (exp)"),
                (
                    "wrong issuer", try await provider.token("rsa-1", changes: ["iss": "https://evil.test/"]),
                    "the token's issuer is not the one this gateway trusts"
                ),
                (
                    "wrong audience", try await provider.token("ec-1", changes: ["aud": "another-app"]),
                    "the token is not meant for this gateway (aud)"
                ),
                ("unknown kid", try await provider.token("rsa-1", headerKeyID: "ghost"), "the token's key (kid) is unknown"),
                ("no kid", try await provider.token("ec-1", headerKeyID: JSONValue.null), "the token names no key (kid)"),
                ("another key's kid", try await provider.token("ec-1", headerKeyID: "ed-1"), "the token's algorithm (ES256) is not its key's"),
                // rsa-1 declares RS256: another RSA algorithm, validly signed with the same key, is not accepted for it.
                ("not the key's declared alg", try await provider.token("rsa-1", alg: "PS256"), "the token's algorithm (PS256) is not its key's"),
                ("alg none", try await provider.token("rsa-1", attack: "none"), "the token's algorithm (none) is not accepted"),
                (
                    "HS256 signed with the public key", try await provider.token("rsa-1", attack: "hs256-public-key"),
                    "the token's algorithm (HS256) is not accepted"
                ),
                ("forged signature", String(try await provider.token("rsa-1").dropLast(4)) + "AAAA", "invalid token"),
            ]
            for (name, token, message) in bad {
                tokens.append(token)
                #expect(try await Self.statuses(token, port: port, sse: sse) == refused, "\(name)")
                #expect(try await Self.refusal(token, port: port) == message, "\(name)")
            }
            // No token: no guest either, in JWT mode.
            #expect(try await Self.statuses(nil, port: port, sse: sse) == refused)
            await sse.shutdown()
            return deployment
        }
        // No token, accepted or refused, nor its signature, reached a log at the most verbose level.
        for token in tokens {
            let signature = String(token.split(separator: ".").last ?? "")
            #expect(!deployment.logs.contains(token) && (signature.count < 16 || !deployment.logs.contains(signature)))
        }
    }

    @Test func aRotatedKeyWorksWithoutARestartAndAProviderThatIsDownKeepsTheCachedKeys() async throws {
        let provider = try await Provider.start()
        defer { provider.stop() }
        try await withDeployment(workers: 1, environment: Self.environment(provider)) { deployment in
            let port = deployment.gatewayPort
            let before = try await provider.token("rsa-1")
            #expect(try await Self.refusal(before, port: port) == nil)

            // The provider rotates: a new key replaces the old one. A token of the new key is refused at most until
            // the minimum gap since the last fetch has passed (1 s here); then its unknown kid fetches the set anew.
            let rotated = try await provider.post("/rotate")["kid"]?.stringValue ?? ""
            let after = try await provider.token(rotated)
            try await waitUntil("a token of the rotated key is accepted", interval: .milliseconds(200)) {
                try await Self.refusal(after, port: port) == nil
            }
            #expect(try await Self.refusal(before, port: port) == "the token's key (kid) is unknown")
            let client = try await deployment.connect(token: after)
            #expect(client.userID == "alice")

            // The provider goes down: the next fetch fails, the keys fetched before stay in use, and /readyz and the
            // metrics say so.
            _ = try await provider.post("/down")
            let ghost = try await provider.token(rotated, headerKeyID: "ghost")
            try await waitUntil("a failed fetch marks the keys stale", interval: .milliseconds(200)) {
                _ = try await Self.refusal(ghost, port: port)
                return try await HTTPProbe.get(port: port, path: "/readyz").body.contains("jwks: stale")
            }
            let ready = try await HTTPProbe.get(port: port, path: "/readyz")
            #expect(ready.status == 200)
            #expect(ready.body.hasPrefix("ready\njwks: stale, using 3 keys"), "\(ready.body)")
            #expect(ready.body.contains("answered 503"), "\(ready.body)")
            let metrics = try await HTTPProbe.get(port: port, path: "/metrics").body
            #expect(metrics.contains("herald_gateway_jwks_stale 1"))
            #expect(metrics.contains("herald_gateway_jwks_keys 3"))
            #expect(metrics.contains(#"herald_gateway_jwks_fetches_total{outcome="error"}"#))
            #expect(try await Self.refusal(after, port: port) == nil, "the cached key still signs users in")

            // Back up: the next fetch clears the mark.
            _ = try await provider.post("/up")
            try await waitUntil("a good fetch clears the mark", interval: .milliseconds(200)) {
                _ = try await Self.refusal(ghost, port: port)
                return try await HTTPProbe.get(port: port, path: "/readyz").body.contains("jwks: 3 keys, fetched")
            }
            #expect(try await HTTPProbe.get(port: port, path: "/metrics").body.contains("herald_gateway_jwks_stale 0"))
            await client.close()
        }
    }

    @Test func tokensWithUnknownKeysFetchTheKeySetAtMostOncePerMinimumGapAndTheIntervalFetchesItAgain() async throws {
        let provider = try await Provider.start()
        defer { provider.stop() }
        let environment = Self.environment(provider, ["HERALD_JWT_JWKS_MIN_REFRESH_SECONDS": "3600", "HERALD_JWT_JWKS_REFRESH_SECONDS": "10"])
        try await withDeployment(workers: 1, environment: environment) { deployment in
            let port = deployment.gatewayPort
            func fetches() async throws -> Double? { try await provider.get("/fetches")["fetches"]?.numberValue }
            #expect(try await Self.refusal(try await provider.token("ec-1"), port: port) == nil)
            let before = try await fetches()
            for index in 0..<20 {
                let ghost = try await provider.token("rsa-1", headerKeyID: .string("ghost-\(index)"))
                #expect(try await Self.refusal(ghost, port: port) == "the token's key (kid) is unknown")
            }
            // The gateway fetched at start, less than the minimum gap ago: made-up kids cost the provider nothing.
            #expect(try await fetches() == before)
            // The interval (10 s, the least allowed) fetches the set again by itself.
            try await waitUntil("the interval fetches the key set again", timeout: .seconds(60), interval: .milliseconds(500)) {
                try await fetches() ?? 0 > before ?? 0
            }
        }
    }

    @Test func aSharedSecretFromAFileWorksBesideTheProvidersKeys() async throws {
        let provider = try await Provider.start()
        defer { provider.stop() }
        let secret = "shared-secret-\(UUID().uuidString)"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("herald-jwt-secret-\(UUID().uuidString)")
        try Data((secret + "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try await withDeployment(workers: 1, environment: Self.environment(provider, ["HERALD_JWT_SECRET_FILE": file.path])) { deployment in
            let port = deployment.gatewayPort
            // The issuer and audience settings hold for every token, HS256 ones too.
            let claims: JSONValue = [
                "sub": "bob", "iss": .string(Self.issuer), "aud": .string(Self.audience),
                "exp": .number(Date().timeIntervalSince1970.rounded() + 600),
            ]
            let hs256 = LogSecrecyTests.hs256(claims, secret: secret)
            #expect(
                try await Self.refusal(LogSecrecyTests.jwt(sub: "bob", secret: secret, expires: Date().addingTimeInterval(600)), port: port)
                    == "the token's issuer is not the one this gateway trusts"
            )
            let client = try await deployment.connect(token: hs256)
            #expect(client.userID == "bob")
            #expect(try await Self.refusal(try await provider.token("ec-1"), port: port) == nil)
            // With a shared secret configured, HS256 is checked with it, never with a provider's public key.
            #expect(try await Self.refusal(try await provider.token("rsa-1", attack: "hs256-public-key"), port: port) == "invalid token")
            #expect(!deployment.logs.contains(secret))
            await client.close()
        }
    }

    @Test func aGatewayThatNeverFetchedTheKeysIsNotReadyAndAnswers503() async throws {
        let provider = try await Provider.start()
        _ = try await provider.post("/down")
        defer { provider.stop() }
        let redis = try await RedisServerProcess.start()
        let port = try FreePort.allocate()
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("herald-idp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let gateway = try ServiceProcess(
            name: "gateway",
            executable: "herald-gateway",
            port: port,
            environment: Self.environment(provider, ["HERALD_REDIS_URL": redis.url, "HERALD_HOST": "127.0.0.1", "HERALD_PORT": String(port)]),
            logDirectory: logs
        )
        defer { gateway.kill9() }
        try await waitUntil("the gateway answers", interval: .milliseconds(100)) {
            (try? await HTTPProbe.status(port: port, path: "/healthz")) == 200
        }
        let ready = try await HTTPProbe.get(port: port, path: "/readyz")
        #expect(ready.status == 503)
        #expect(ready.body.hasPrefix("not ready\njwks: no keys yet (\(provider.jwksURL)): "), "\(ready.body)")
        let token = try await provider.token("rsa-1")
        let answer = try await HTTPProbe.get(
            port: port,
            path: "/ws",
            headers: LogSecrecyTests.upgradeHeaders.merging(["Authorization": "Bearer \(token)"]) { $1 }
        )
        #expect(answer.status == 503)
        #expect(answer.body.contains("cannot check tokens: the identity provider's keys could not be fetched"))
        _ = try await provider.post("/up")
        try await waitUntil("the gateway becomes ready once the keys are fetched", interval: .milliseconds(200)) {
            (try? await HTTPProbe.status(port: port, path: "/readyz")) == 200
        }
        #expect(try await Self.refusal(token, port: port) == nil)
        await redis.stop()
    }
}
