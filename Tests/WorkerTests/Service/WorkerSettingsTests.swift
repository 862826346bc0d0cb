import Foundation
import HeraldCore
import Testing

@testable import Worker

@Suite("Worker settings")
struct WorkerSettingsTests {
    private let nowhere = URL(fileURLWithPath: "/nonexistent-herald-cwd")

    private func resolve(_ arguments: [String] = [], _ environment: [String: String] = [:]) throws -> WorkerSettings {
        try WorkerOptions.parse(arguments).resolve(SettingsResolver(environment: environment), currentDirectory: nowhere, executable: nil)
    }

    @Test("defaults")
    func defaults() throws {
        let settings = try resolve()
        #expect(settings.concurrency == 8)
        #expect(settings.offlineDelay == .milliseconds(20))
        #expect(settings.toolTimeout == .seconds(30))
        #expect(settings.runTimeout == .seconds(900))
        #expect(settings.gracePeriod == .seconds(10))
        #expect(settings.redisRetry == .seconds(30))
        #expect(settings.conversationTurns == 40)
        #expect(settings.adminPort == 9091)
        #expect(settings.docsDirectory == nil)
        #expect(settings.workerID.hasPrefix("worker_"))
        #expect(try resolve().workerID != settings.workerID)
    }

    @Test("the environment overrides defaults and flags override the environment")
    func precedence() throws {
        let environment = [
            "HERALD_WORKER_CONCURRENCY": "5", "HERALD_OFFLINE_DELAY_MS": "0", "HERALD_RUN_TIMEOUT_SECONDS": "0", "HERALD_WORKER_ID": "w-1",
        ]
        let settings = try resolve(["--concurrency", "3"], environment)
        #expect(settings.concurrency == 3)
        #expect(settings.offlineDelay == .zero)
        #expect(settings.runTimeout == nil)
        #expect(settings.workerID == "w-1")
        #expect(settings.engine.runTimeout == nil)
    }

    @Test(
        "a bad value fails with one line naming the setting",
        arguments: [
            (["HERALD_WORKER_CONCURRENCY": "abc"], "HERALD_WORKER_CONCURRENCY: 'abc' is not a whole number"),
            (["HERALD_WORKER_CONCURRENCY": "0"], "HERALD_WORKER_CONCURRENCY: 0 is outside 1...1024"),
            (["HERALD_OFFLINE_DELAY_MS": "-1"], "HERALD_OFFLINE_DELAY_MS: -1 is outside 0...60000"),
            (["HERALD_TOOL_TIMEOUT_SECONDS": "0"], "HERALD_TOOL_TIMEOUT_SECONDS: 0 is outside 1...3600"),
            (["HERALD_ADMIN_PORT": "70000"], "HERALD_ADMIN_PORT: 70000 is outside 0...65535"),
            (["HERALD_WORKER_ID": "a b"], "HERALD_WORKER_ID: 'a b' may hold only letters, digits, '-', '_', '.' and ':' (at most 128)"),
            (
                ["HERALD_DOCS_DIR": "/nonexistent-herald-docs"],
                "HERALD_DOCS_DIR: '/nonexistent-herald-docs' is not a folder holding markdown (.md) files"
            ),
        ]
    )
    func badValues(_ environment: [String: String], _ message: String) {
        #expect(throws: SettingError.self) { try resolve([], environment) }
        do {
            _ = try resolve([], environment)
        } catch {
            #expect("\(error)" == message)
        }
    }
}
