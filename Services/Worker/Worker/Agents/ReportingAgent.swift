import Foundation
import HeraldProtocol

/// Writes the run's one `final_report` from the assistant's answer.
public struct ReportingAgent: Agent {
    public let name = "reporting"
    private let sink: any EventSink

    public init(sink: any EventSink) {
        self.sink = sink
    }

    public func run(_ answer: AssistantAnswer, in run: RunContext) async throws -> String {
        let report = Self.report(from: answer)
        let usage: JSONValue? = answer.usage == .zero ? nil : answer.usage.json
        try await sink.emit(.finalReport(.init(report: report, totalDurationMs: run.elapsedMilliseconds, usage: usage)), agent: name, in: run)
        return report
    }

    public func summary(of output: String) -> JSONValue? {
        ["report_chars": .number(Double(output.count))]
    }

    /// The answer as written; when the model wrote nothing, the tools' outcomes, so a report is never blank.
    static func report(from answer: AssistantAnswer) -> String {
        let text = answer.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !text.isEmpty { return text }
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
