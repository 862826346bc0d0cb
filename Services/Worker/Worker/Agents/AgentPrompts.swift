import Foundation
import HeraldCore

/// The system prompts of the agents that consult a language model: the assistant, triage and
/// reporting. The worker bundles them (`Prompts/*.md`); an operator's folder
/// (`HERALD_LLM_PROMPTS_DIR`) overrides them file by file. HTML comments in a file are not sent.
public struct AgentPrompts: Sendable, Equatable {
    public var assistant: String
    public var triage: String
    public var reporting: String

    public init(assistant: String, triage: String, reporting: String) {
        self.assistant = assistant
        self.triage = triage
        self.reporting = reporting
    }

    /// The prompt files, one per agent.
    public static let fileNames = ["assistant.md", "triage.md", "reporting.md"]

    /// The folder SwiftPM copied beside the executable (`herald_Worker.resources/Prompts`), found
    /// without `Bundle.module`, which stops the process when its bundle is missing.
    public static func bundledDirectory(executable: URL? = Bundle.main.executableURL) -> URL? {
        var candidates: [URL] = []
        if let executable {
            candidates.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
            candidates.append(executable.deletingLastPathComponent())
        }
        candidates.append(Bundle.main.bundleURL)
        for folder in candidates {
            let prompts = folder.appendingPathComponent("herald_Worker.resources").appendingPathComponent("Prompts")
            if FileManager.default.fileExists(atPath: prompts.appendingPathComponent(fileNames[0]).path) {
                return prompts
            }
        }
        return nil
    }

    /// The prompts from `overrides` where it has the file, else from `bundled`. Throws a
    /// `SettingError` naming `HERALD_LLM_PROMPTS_DIR` when a prompt is missing, unreadable or blank.
    public static func load(overrides: URL?, bundled: URL? = bundledDirectory()) throws -> AgentPrompts {
        if let overrides {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: overrides.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw SettingError(.llmPromptsDirectory, "'\(overrides.path)' is not a folder")
            }
            guard fileNames.contains(where: { FileManager.default.fileExists(atPath: overrides.appendingPathComponent($0).path) }) else {
                throw SettingError(.llmPromptsDirectory, "'\(overrides.path)' holds none of \(fileNames.joined(separator: ", "))")
            }
        }
        var texts: [String] = []
        for file in fileNames {
            let url: URL
            if let override = overrides?.appendingPathComponent(file), FileManager.default.fileExists(atPath: override.path) {
                url = override
            } else if let bundled {
                url = bundled.appendingPathComponent(file)
            } else {
                throw SettingError(
                    .llmPromptsDirectory,
                    "the bundled prompts (herald_Worker.resources beside the executable) are missing and no \(file) was given; set it to a folder holding \(fileNames.joined(separator: ", "))"
                )
            }
            let raw: String
            do {
                raw = try String(contentsOf: url, encoding: .utf8)
            } catch {
                throw SettingError(.llmPromptsDirectory, "cannot read \(url.path): \(error.localizedDescription)")
            }
            let text = prompt(fromFile: raw)
            guard !text.isEmpty else {
                throw SettingError(.llmPromptsDirectory, "\(url.path) holds no prompt (only comments or blanks)")
            }
            texts.append(text)
        }
        return AgentPrompts(assistant: texts[0], triage: texts[1], reporting: texts[2])
    }

    /// A prompt file's text without its HTML comments, trimmed.
    static func prompt(fromFile text: String) -> String {
        text.replacing(#/<!--[\s\S]*?-->/#, with: "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
