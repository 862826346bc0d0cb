import Foundation
import HeraldProtocol

/// Writes the run's one `final_report` from the assistant's answer.
///
/// The report is the answer as the assistant wrote (and streamed) it. Only when the assistant ran
/// tools but wrote nothing does reporting, given a prompt, ask the model to write the report from
/// the tools' outcomes; otherwise it lists the outcomes itself, so a report is never blank.
public struct ReportingAgent: Agent {
    public let name = "reporting"
    private let sink: any EventSink
    private let model: (any LanguageModel)?
    private let prompt: String?

    public init(sink: any EventSink, model: (any LanguageModel)? = nil, prompt: String? = nil) {
        self.sink = sink
        self.model = model
        self.prompt = prompt
    }

    public func run(_ answer: AssistantAnswer, in run: RunContext) async throws -> String {
        var report = Self.report(from: answer)
        var usage = answer.usage
        if let model, let prompt, Self.isBlank(answer.text), !answer.toolOutcomes.isEmpty {
            let request = ModelRequest(messages: [.system(prompt), .user(Self.brief(message: run.input.message, outcomes: answer.toolOutcomes))])
            let reply = try await ModelReply.collect(from: model, request)
            usage = usage + reply.usage
            let written = reply.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !written.isEmpty { report = written }
        }
        let reported: JSONValue? = usage == .zero ? nil : usage.json
        try await sink.emit(.finalReport(.init(report: report, totalDurationMs: run.elapsedMilliseconds, usage: reported)), agent: name, in: run)
        return report
    }

    public func summary(of output: String) -> JSONValue? {
        ["report_chars": .number(Double(output.count))]
    }

    private static func isBlank(_ text: String) -> Bool {
        text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }

    /// What the model reads to write a report: the user's message and each tool's outcome.
    static func brief(message: String, outcomes: [ToolOutcome]) -> String {
        let lines = outcomes.map { outcome in
            "- \(outcome.call.name) \(outcome.call.arguments) → \(outcome.status.rawValue): \(outcome.modelContent)"
        }
        return "The user's message:\n\(message)\n\nThe tools' outcomes:\n" + lines.joined(separator: "\n")
    }

    /// The answer as written; when the model wrote nothing, the tools' outcomes, so a report is never blank.
    static func report(from answer: AssistantAnswer) -> String {
        let text = answer.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !text.isEmpty { return text }
        if !answer.handedOver.isEmpty {
            return "Waiting for the client to run \(answer.handedOver.map(\.name).joined(separator: ", "))."
        }
        guard !answer.toolOutcomes.isEmpty else {
            return "The model returned no answer."
        }
        return answer.toolOutcomes.map { outcome in
            switch outcome.status {
            case .success: "\(outcome.call.name): \(outcome.result?.jsonString() ?? "done")"
            default: "\(outcome.call.name) \(outcome.status.rawValue): \(outcome.error ?? "no detail")"
            }
        }.joined(separator: "\n")
    }
}
