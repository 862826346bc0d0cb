import Foundation
import HeraldCore
import Testing

@testable import Worker

@Suite("Language model settings")
struct LanguageModelSettingsTests {
    private let nowhere = URL(fileURLWithPath: "/nonexistent-herald-cwd")

    private func resolve(_ arguments: [String] = [], _ environment: [String: String] = [:]) throws -> WorkerSettings {
        try WorkerOptions.parse(arguments).resolve(
            SettingsResolver(environment: environment),
            currentDirectory: nowhere,
            executable: Bundle.main.executableURL
        )
    }

    private func message(_ environment: [String: String]) -> String? {
        do {
            _ = try resolve([], environment)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("without a base URL the worker keeps the offline model and its behaviour")
    func offlineByDefault() throws {
        let settings = try resolve([], ["HERALD_LLM_MODEL": "ignored", "HERALD_LLM_API_KEY": "ignored"])
        #expect(settings.languageModel == nil)
        #expect(settings.agentPrompts == nil)
        #expect(settings.engine.triagePrompt == nil)
        #expect(settings.engine.reportingPrompt == nil)
        #expect(settings.engine.systemPrompt == EngineConfiguration.defaultSystemPrompt)
    }

    @Test("defaults with a base URL, and the bundled prompts reach the agents")
    func defaults() throws {
        let settings = try resolve([], ["HERALD_LLM_BASE_URL": "http://localhost:11434/v1/", "HERALD_LLM_MODEL": "llama3.1"])
        let model = try #require(settings.languageModel)
        #expect(model.baseURL == "http://localhost:11434/v1")
        #expect(model.endpoint == "http://localhost:11434/v1/chat/completions")
        #expect(model.model == "llama3.1")
        #expect(model.apiKey == nil)
        #expect(model.connectTimeout == .seconds(10))
        #expect(model.firstTokenTimeout == .seconds(60))
        #expect(model.requestTimeout == .seconds(300))
        #expect(model.retry == ModelRetryPolicy(maximumRetries: 2, initialDelay: .milliseconds(500), maximumDelay: .seconds(20)))
        let prompts = try #require(settings.agentPrompts)
        #expect(prompts.assistant.hasPrefix("You are Herald's assistant"))
        #expect(prompts.triage.hasPrefix("You are the triage step"))
        #expect(prompts.reporting.hasPrefix("You write the final report"))
        #expect(!prompts.assistant.contains("<!--"))
        #expect(settings.engine.systemPrompt == prompts.assistant)
        #expect(settings.engine.triagePrompt == prompts.triage)
        #expect(settings.engine.reportingPrompt == prompts.reporting)
    }

    @Test("flags win over the environment; the endpoint pasted whole is trimmed to its root")
    func precedence() throws {
        let environment = [
            "HERALD_LLM_BASE_URL": "http://ignored:1/v1", "HERALD_LLM_MODEL": "env-model", "HERALD_LLM_API_KEY": "sk-env",
            "HERALD_LLM_FIRST_TOKEN_TIMEOUT_SECONDS": "5", "HERALD_LLM_MAX_RETRIES": "0",
        ]
        let settings = try resolve(
            ["--llm-base-url", "https://api.openai.com/v1/chat/completions", "--llm-model", "gpt-4o-mini", "--llm-run-timeout", "30"],
            environment
        )
        let model = try #require(settings.languageModel)
        #expect(model.baseURL == "https://api.openai.com/v1")
        #expect(model.model == "gpt-4o-mini")
        #expect(model.apiKey == "sk-env")
        #expect(model.firstTokenTimeout == .seconds(5))
        #expect(model.requestTimeout == .seconds(30))
        #expect(model.retry.maximumRetries == 0)
    }

    @Test("the settings' description and log form never show the API key or URL credentials")
    func noSecretsInDescriptions() throws {
        let settings = try resolve(
            [],
            ["HERALD_LLM_BASE_URL": "https://user:pa55@llm.example.com/v1?key=q", "HERALD_LLM_MODEL": "m", "HERALD_LLM_API_KEY": "sk-very-secret"]
        )
        let model = try #require(settings.languageModel)
        #expect(model.displayBaseURL == "https://llm.example.com/v1")
        #expect(!"\(model)".contains("sk-very-secret"))
        #expect(!"\(model)".contains("pa55"))
    }

    @Test(
        "a bad value fails with one line naming the setting",
        arguments: [
            (["HERALD_LLM_BASE_URL": "localhost:11434"], "HERALD_LLM_BASE_URL: 'localhost:11434' is not an http:// or https:// URL with a host"),
            (
                ["HERALD_LLM_BASE_URL": "ftp://x/v1", "HERALD_LLM_MODEL": "m"],
                "HERALD_LLM_BASE_URL: 'ftp://x/v1' is not an http:// or https:// URL with a host"
            ),
            (
                ["HERALD_LLM_BASE_URL": "http://localhost:8000/v1"],
                "HERALD_LLM_MODEL: required when HERALD_LLM_BASE_URL is set (the model's name on that server, e.g. gpt-4o-mini or llama3.1)"
            ),
            (["HERALD_LLM_CONNECT_TIMEOUT_SECONDS": "0"], "HERALD_LLM_CONNECT_TIMEOUT_SECONDS: 0 is outside 1...300"),
            (["HERALD_LLM_FIRST_TOKEN_TIMEOUT_SECONDS": "x"], "HERALD_LLM_FIRST_TOKEN_TIMEOUT_SECONDS: 'x' is not a whole number"),
            (["HERALD_LLM_RUN_TIMEOUT_SECONDS": "0"], "HERALD_LLM_RUN_TIMEOUT_SECONDS: 0 is outside 1...86400"),
            (["HERALD_LLM_MAX_RETRIES": "11"], "HERALD_LLM_MAX_RETRIES: 11 is outside 0...10"),
            (["HERALD_LLM_RETRY_INITIAL_DELAY_MS": "0"], "HERALD_LLM_RETRY_INITIAL_DELAY_MS: 0 is outside 1...60000"),
            (["HERALD_LLM_RETRY_MAX_DELAY_SECONDS": "601"], "HERALD_LLM_RETRY_MAX_DELAY_SECONDS: 601 is outside 1...600"),
            (
                ["HERALD_LLM_BASE_URL": "http://h/v1", "HERALD_LLM_MODEL": "m", "HERALD_LLM_PROMPTS_DIR": "/nonexistent-herald-prompts"],
                "HERALD_LLM_PROMPTS_DIR: '/nonexistent-herald-prompts' is not a folder"
            ),
        ]
    )
    func badValues(_ environment: [String: String], _ expected: String) {
        #expect(message(environment) == expected)
    }

    @Test("a prompts folder overrides the bundled prompts file by file; comments are not sent")
    func promptOverrides() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("herald-prompts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "<!-- operators' note -->\nTriage like a pirate.\n".write(
            to: folder.appendingPathComponent("triage.md"),
            atomically: true,
            encoding: .utf8
        )

        let settings = try resolve([], ["HERALD_LLM_BASE_URL": "http://h/v1", "HERALD_LLM_MODEL": "m", "HERALD_LLM_PROMPTS_DIR": folder.path])
        let prompts = try #require(settings.agentPrompts)
        #expect(prompts.triage == "Triage like a pirate.")
        #expect(prompts.assistant.hasPrefix("You are Herald's assistant"))
        #expect(prompts.reporting.hasPrefix("You write the final report"))

        try "<!-- only a comment -->\n".write(to: folder.appendingPathComponent("reporting.md"), atomically: true, encoding: .utf8)
        #expect(
            message(["HERALD_LLM_BASE_URL": "http://h/v1", "HERALD_LLM_MODEL": "m", "HERALD_LLM_PROMPTS_DIR": folder.path])
                == "HERALD_LLM_PROMPTS_DIR: \(folder.appendingPathComponent("reporting.md").path) holds no prompt (only comments or blanks)"
        )
    }

    @Test("a prompts folder with none of the files, or no bundle and no folder, is refused")
    func missingPrompts() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("herald-prompts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: SettingError.self) { try AgentPrompts.load(overrides: empty) }
        #expect(throws: SettingError.self) { try AgentPrompts.load(overrides: nil, bundled: nil) }
    }
}
