import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Testing

/// Every service over TLS to Redis with a client certificate, logged in as an ACL user that may touch nothing but
/// the deployment's keys; and a Redis that refuses a service's TLS stops it at start with one line.
@Suite("Redis over TLS with an ACL user", .timeLimit(.minutes(3)))
struct RedisTLSTests {
    private static let executables = ["herald-gateway", "herald-worker", "herald-relay"]

    @Test("a chat run completes with its events streamed, every service on TLS as the limited user")
    func chatRunOverTLS() async throws {
        let tls = try await RedisServerTLS.make(clientCertificates: .required)
        let user = RedisTestUser(name: "herald", password: "herald-pw/+:@")
        try await withDeployment(redisPassword: "admin-pw", redisTLS: tls, redisUser: user) { deployment in
            #expect(deployment.environment["HERALD_REDIS_URL"]?.hasPrefix("rediss://herald:") == true)
            let client = try await deployment.connect()
            let queued = try await client.startRun("what is (17*3)+4?")
            let frames = try await client.events(untilEndOf: queued.runID)
            expectValidRuns(frames)
            guard case .agentCompleted(let completed) = frames.terminal?.event.payload else {
                Issue.record("the run did not end with the supervisor's agent_completed: \(String(describing: frames.terminal))")
                return
            }
            #expect(completed.status == .success)
            #expect(frames.contains { $0.type == .partialResult })
            #expect(frames.finalReport?.report.contains("55") == true)
            await client.close()

            // Every connection but this look's own is the services', and they are all the limited user's.
            let clients = try #require(try await deployment.redis.string("CLIENT", "LIST")).split(separator: "\n")
            let services = clients.filter { !$0.contains("cmd=client|list") }
            #expect(services.count >= 5, "\(clients)")
            #expect(services.allSatisfy { $0.contains(" user=herald ") }, "\(clients)")
            // Nothing the services did was refused: HeraldRedisACL's rules cover the whole run.
            #expect(try await deployment.redis.reply(["ACL", "LOG"]) == .array([]))
            let keys = try await deployment.redis.keysWithExpiry().map(\.key)
            #expect(!keys.isEmpty && keys.allSatisfy { $0.hasPrefix("herald:") }, "\(keys)")
        }
    }

    @Test("a CA that did not sign Redis's certificate stops the service at start with one line naming it", arguments: executables)
    func wrongCA(_ executable: String) async throws {
        let tls = try await RedisServerTLS.make(clientCertificates: .required)
        let stranger = try await RedisTestCertificates.make()
        try await withRedisServer(tls: tls) { server in
            let (status, output) = try await run(
                executable,
                environment: [
                    "HERALD_REDIS_URL": server.url,
                    "HERALD_REDIS_TLS_CA_FILE": stranger.caFile,
                    "HERALD_REDIS_TLS_CERT_FILE": tls.certificates.clientCertificateFile,
                    "HERALD_REDIS_TLS_KEY_FILE": tls.certificates.clientKeyFile,
                ]
            )
            #expect(status == SettingsCatalogue.badSettingExitCode, "\(output)")
            let line =
                "\(executable): invalid setting HERALD_REDIS_TLS_CA_FILE: TLS handshake with 127.0.0.1:\(server.port) failed: certificate verify failed (is HERALD_REDIS_TLS_CA_FILE the CA that signed Redis's certificate?)"
            #expect(output.split(separator: "\n").filter { $0 == line }.count == 1, "\(output)")
        }
    }

    @Test("an unreadable TLS file stops the service before it starts, with exactly one line", arguments: executables)
    func unreadableFile(_ executable: String) async throws {
        let (status, output) = try await run(
            executable,
            environment: ["HERALD_REDIS_URL": "rediss://127.0.0.1:1", "HERALD_REDIS_TLS_CA_FILE": "/nonexistent/redis-ca.pem"]
        )
        #expect(status == SettingsCatalogue.badSettingExitCode)
        #expect(
            output == "\(executable): invalid setting HERALD_REDIS_TLS_CA_FILE: cannot read /nonexistent/redis-ca.pem: No such file or directory\n"
        )
    }

    /// Runs `executable` to its end with only `environment`'s HERALD_ variables (and free ports of its own); returns
    /// its status and output. A service that does not stop is killed and fails the test.
    private func run(_ executable: String, environment: [String: String]) async throws -> (status: Int32, output: String) {
        let path = ServiceProcess.binDirectory.appendingPathComponent(executable).path
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HERALD_") }
        let port = String(try FreePort.allocate())
        merged.merge(["HERALD_HOST": "127.0.0.1", "HERALD_PORT": port, "HERALD_ADMIN_HOST": "127.0.0.1", "HERALD_ADMIN_PORT": port]) { _, new in new }
        merged.merge(environment) { _, new in new }
        let process = try ChildProcess.spawn(path, arguments: [], environment: merged, output: .capture())
        do {
            let status = try await within(30, "\(executable) to exit") { await process.waitForExit() }
            return (status, await process.waitForOutputEnd())
        } catch {
            process.kill9()
            _ = await process.waitForExit()
            throw TestSupportError("\(error)\n\(await process.waitForOutputEnd())")
        }
    }
}
