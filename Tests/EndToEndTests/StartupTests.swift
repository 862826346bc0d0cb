import Foundation
import HeraldCore
import HeraldTesting
import Testing

/// The built executables refuse a bad setting the same way: one line naming it, and one exit status.
@Suite("Start-up with bad settings", .timeLimit(.minutes(1)))
struct StartupTests {
    private static let executables = ["herald-gateway", "herald-worker", "herald-relay"]

    /// Runs `executable` to its end with only `environment`'s HERALD_ variables; returns its status and output.
    private func run(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String] = [:]
    ) async throws -> (status: Int32, output: String) {
        let path = ServiceProcess.binDirectory.appendingPathComponent(executable).path
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HERALD_") }
        merged.merge(environment) { _, new in new }
        let process = try ChildProcess.spawn(path, arguments: arguments, environment: merged, output: .capture())
        let status = await process.waitForExit()
        return (status, await process.waitForOutputEnd())
    }

    @Test("a bad variable or flag exits with EX_CONFIG and one line naming the setting", arguments: executables)
    func badSetting(_ executable: String) async throws {
        let fromEnvironment = try await run(executable, environment: ["HERALD_EVENT_PARTITIONS": "0"])
        #expect(fromEnvironment.status == SettingsCatalogue.badSettingExitCode)
        #expect(fromEnvironment.output == "\(executable): invalid setting HERALD_EVENT_PARTITIONS: 0 is outside 1...1024\n")
        let fromFlag = try await run(executable, ["--history-size", "lots"])
        #expect(fromFlag.status == SettingsCatalogue.badSettingExitCode)
        #expect(fromFlag.output == "\(executable): invalid setting HERALD_HISTORY_SIZE: 'lots' is not a whole number\n")
    }

    @Test("JWT and guest settings that cannot work stop the gateway with one line naming the setting")
    func badIdentitySettings() async throws {
        let jwks = ["HERALD_JWT_JWKS_URL": "https://id.example/.well-known/jwks.json"]
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("herald-secret-\(UUID().uuidString)")
        try Data("a-secret-of-at-least-thirty-two-bytes".utf8).write(to: secretFile)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        let cases: [([String: String], String)] = [
            (jwks, "HERALD_JWT_ISSUER: is required with HERALD_JWT_JWKS_URL: the issuer whose tokens are accepted"),
            (
                jwks.merging(["HERALD_JWT_ISSUER": "https://id.example/"]) { $1 },
                "HERALD_JWT_AUDIENCE: is required with HERALD_JWT_JWKS_URL: this deployment's audience"
            ),
            (["HERALD_JWT_JWKS_URL": "ftp://id.example/keys"], "HERALD_JWT_JWKS_URL: 'ftp://id.example/keys' is not an http(s) URL"),
            (["HERALD_GUESTS": "maybe"], "HERALD_GUESTS: 'maybe' is neither on nor off"),
            (["HERALD_JWT_SECRET_FILE": "/nonexistent/jwt-secret"], "HERALD_JWT_SECRET_FILE: cannot read '/nonexistent/jwt-secret': no such file"),
            (["HERALD_JWT_SECRET": "s", "HERALD_JWT_SECRET_FILE": secretFile.path], "HERALD_JWT_SECRET: set it or HERALD_JWT_SECRET_FILE, not both"),
        ]
        for (environment, line) in cases {
            let result = try await run("herald-gateway", environment: environment)
            #expect(result.status == SettingsCatalogue.badSettingExitCode)
            #expect(result.output == "herald-gateway: invalid setting \(line)\n")
        }
    }

    @Test("a bad MCP server entry stops the worker with one line naming it")
    func badMCPServer() async throws {
        let servers = try await run("herald-worker", environment: ["HERALD_MCP_SERVERS": #"{"files": {"args": ["x"]}}"#])
        #expect(servers.status == SettingsCatalogue.badSettingExitCode)
        #expect(servers.output == "herald-worker: invalid setting HERALD_MCP_SERVERS: entry 'files' needs a \"command\" (a non-empty string)\n")
        let file = try await run("herald-worker", environment: ["HERALD_MCP_CONFIG": "/nonexistent/mcp.json"])
        #expect(file.status == SettingsCatalogue.badSettingExitCode)
        #expect(file.output.hasPrefix("herald-worker: invalid setting HERALD_MCP_CONFIG: cannot read /nonexistent/mcp.json"))
        #expect(file.output.split(separator: "\n").count == 1)
    }

    @Test("each executable prints the catalogue's .env.example and settings table", arguments: executables)
    func printsDocuments(_ executable: String) async throws {
        let environment = try await run(executable, ["--print-env-example"])
        #expect(environment.status == 0)
        #expect(environment.output == SettingsCatalogue.envExample)
        let table = try await run(executable, ["--print-settings-table"])
        #expect(table.status == 0)
        #expect(table.output == SettingsCatalogue.settingsTable)
    }
}
