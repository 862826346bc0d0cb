import Crypto
import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

/// Issue #5, item 6: secrets (tokens, the JWT secret, the guest secret, the Redis password, the model's
/// API key) never reach a log, and tool arguments and results reach one only cut short, checked in the
/// logs of the real processes at the most verbose level.
@Suite(.timeLimit(.minutes(3)))
struct LogSecrecyTests {
    /// The most characters of one tool argument or result a log line may carry: the worker cuts such
    /// text to 200 characters (`LogText.truncated`), and a line may hold one such excerpt.
    static let toolTextPerLine = 200

    @Test func jwtModeLogsNoTokenSecretPasswordOrKeyAndCutsToolText() async throws {
        let jwtSecret = "jwt-secret-\(Self.sentinel())"
        let redisPassword = "redis-password-\(Self.sentinel())"
        let apiKey = "sk-api-key-\(Self.sentinel())"
        let environment = ["HERALD_JWT_SECRET": jwtSecret, "HERALD_LLM_API_KEY": apiKey, "HERALD_LOG_LEVEL": "trace"]
        var tokens: [String] = []
        // Stopped before the logs are read, so shutdown lines are checked too.
        let deployment = try await withDeployment(workers: 1, environment: environment, redisPassword: redisPassword) { deployment in
            let alice = Self.jwt(sub: "alice", secret: jwtSecret, expires: Date().addingTimeInterval(3600))
            let forged = Self.jwt(sub: "alice", secret: "another-secret-of-at-least-32-bytes!", expires: Date().addingTimeInterval(3600))
            let expired = Self.jwt(sub: "alice", secret: jwtSecret, expires: Date().addingTimeInterval(-60))
            tokens = [alice, forged, expired]

            // The token in each place a browser may put it, and refused tokens, which are logged as refusals.
            let client = try await deployment.connect(token: alice)
            #expect(client.userID == "alice")
            for headers in [["Authorization": "Bearer \(alice)"], [:]] {
                let path = headers.isEmpty ? "/ws?token=\(alice)" : "/ws"
                let response = try await HTTPProbe.get(
                    port: deployment.gatewayPort,
                    path: path,
                    headers: Self.upgradeHeaders.merging(headers) { $1 },
                    headOnly: true
                )
                #expect(response.status == 101)
            }
            for token in [forged, expired] {
                let response = try await HTTPProbe.get(
                    port: deployment.gatewayPort,
                    path: "/ws",
                    headers: Self.upgradeHeaders.merging(["Authorization": "Bearer \(token)"]) { $1 }
                )
                #expect(response.status == 401)
            }

            // A tool call with a 5,000-character argument, whose result repeats it.
            let query = numberedWords("qzarg", characters: 5_000)
            let queued = try await client.startRun("search \(query)")
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            #expect(frames.toolExecutions.first?.arguments["query"]?.stringValue == query, "the argument reached the tool whole")

            // The same through an OpenAI-compatible model that cannot be reached: the key is sent (or
            // would be) and the failure logged, without it. The offline worker leaves first.
            deployment.workers[0].terminate()
            #expect(await deployment.workers[0].waitForExit() == 0)
            let closedPort = try FreePort.allocate()
            try await deployment.startWorker(environment: [
                "HERALD_LLM_BASE_URL": "http://127.0.0.1:\(closedPort)/v1", "HERALD_LLM_MODEL": "sentinel-model",
                "HERALD_LLM_MAX_RETRIES": "0", "HERALD_LLM_CONNECT_TIMEOUT_SECONDS": "1",
            ])
            let failing = try await client.startRun("search \(query)", threadID: queued.threadID)
            let failed = try await client.events(untilEndOf: failing.runID)
            expectValidRuns(failed)
            guard case .agentError(let error) = failed.terminal?.event.payload else {
                Issue.record("the run against an unreachable model ended with \(String(describing: failed.terminal))")
                throw TestSupportError("unexpected end")
            }
            #expect(error.code == .llmUnavailable)
            #expect(!error.message.contains(apiKey))
            await client.close()
            return deployment
        }

        let processes = deployment.processes
        let worker = processes.filter { $0.name.hasPrefix("worker") }.map(\.log).joined()
        // The check is not empty: at trace level the tool call is logged, and so is the model's failure.
        #expect(worker.contains("tool call ended") && worker.contains("search_docs"))
        #expect(worker.contains("model request failed") || worker.contains("llm_unavailable"))
        let signatures = tokens.compactMap { $0.split(separator: ".").last.map(String.init) }
        Self.expectNoSecrets(in: processes, secrets: [jwtSecret, redisPassword, apiKey] + tokens + signatures)
        Self.expectToolTextCut(in: processes, tag: "qzarg")
    }

    @Test func guestModeLogsNoGuestTokenNorTheGuestSecret() async throws {
        var secrets: [String] = []
        let deployment = try await withDeployment(workers: 1, environment: ["HERALD_LOG_LEVEL": "trace"]) { deployment in
            let client = try await deployment.connect()
            let first = try #require(client.established.guestToken)
            // A returning guest presents its token (subprotocol, query, header) and gets a renewed one.
            let again = try await deployment.connect(token: first)
            #expect(again.userID == client.userID)
            let renewed = try #require(again.established.guestToken)
            for (path, headers) in [("/ws?token=\(first)", [String: String]()), ("/ws", ["Authorization": "Bearer \(renewed)"])] {
                let response = try await HTTPProbe.get(
                    port: deployment.gatewayPort,
                    path: path,
                    headers: Self.upgradeHeaders.merging(headers) { $1 },
                    headOnly: true
                )
                #expect(response.status == 101)
            }
            // A guest token with its signature changed is refused.
            let tampered = String(first.dropLast(4)) + (first.hasSuffix("AAAA") ? "BBBB" : "AAAA")
            let refused = try await HTTPProbe.get(
                port: deployment.gatewayPort,
                path: "/ws",
                headers: Self.upgradeHeaders.merging(["Authorization": "Bearer \(tampered)"]) { $1 }
            )
            #expect(refused.status == 401)

            let queued = try await client.startRun("search \(numberedWords("qzguest", characters: 3_000))")
            expectValidRuns(try await client.events(untilEndOf: queued.runID))
            let guestSecret = try #require(try await deployment.redis.string("GET", "herald:guest-secret"))
            secrets = [first, renewed, tampered, guestSecret] + [first, renewed].compactMap { $0.split(separator: ".").last.map(String.init) }
            await again.close()
            await client.close()
            return deployment
        }
        Self.expectNoSecrets(in: deployment.processes, secrets: secrets)
        Self.expectToolTextCut(in: deployment.processes, tag: "qzguest")
    }

    // MARK: Checks

    static func expectNoSecrets(in processes: [ServiceProcess], secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        for process in processes {
            let log = process.log
            #expect(!log.isEmpty, "\(process.name) logged nothing", sourceLocation: sourceLocation)
            for secret in secrets where log.contains(secret) {
                let line = log.split(separator: "\n").first { $0.contains(secret) } ?? ""
                Issue.record("\(process.name) logged a secret (\(secret.prefix(12))…): \(line.prefix(300))", sourceLocation: sourceLocation)
            }
        }
    }

    /// The argument is made of numbered words (`tag0001 tag0002 …`, ten characters each with the space):
    /// a line holding more of them than fit in `toolTextPerLine` characters carries too much of it.
    static func expectToolTextCut(in processes: [ServiceProcess], tag: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let wordLength = tag.count + 5
        let mostWords = toolTextPerLine / wordLength + 1
        for process in processes {
            for line in process.log.split(separator: "\n") {
                let words = line.components(separatedBy: tag).count - 1
                if words > mostWords {
                    Issue.record(
                        "\(process.name) logged \(words) words (about \(words * wordLength) characters) of a tool argument in one line: \(line.prefix(300))…",
                        sourceLocation: sourceLocation
                    )
                }
            }
        }
    }

    // MARK: Tokens

    static let upgradeHeaders = [
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Protocol": "herald.v1",
    ]

    /// Text no log line contains by chance: 32 random hex digits.
    static func sentinel() -> String {
        (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    /// An HS256 JWT, as the application that issues a deployment's tokens signs it.
    static func jwt(sub: String, secret: String, expires: Date) -> String {
        hs256(["sub": .string(sub), "exp": .number(Double(Int(expires.timeIntervalSince1970)))], secret: secret)
    }

    /// A compact HS256 JWT of `claims`, signed as an application issuing tokens would.
    static func hs256(_ claims: JSONValue, secret: String) -> String {
        func base64URL(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
                of: "=",
                with: ""
            )
        }
        let signingInput = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + base64URL(Data(claims.jsonString().utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return signingInput + "." + base64URL(Data(signature))
    }
}

extension HeraldDeployment {
    /// Every process the deployment started, stopped or not.
    var processes: [ServiceProcess] {
        [gateway].compactMap { $0 } + relays + workers
    }
}
