import HeraldCore
import HeraldProtocol

/// One change a published event makes to its thread's messages (`MessageRecord`), applied by the publish script in
/// the same step that publishes the event, so a conversation gets each event's part exactly once, whichever relay
/// published it and however often the entry was read.
///
/// The supervisor's `agent_started` opens the run's exchange (the user's message), `partial_result` text adds to
/// the answer, `final_report` replaces it with the whole answer, tool calls are kept as they begin and end, and
/// the run's terminal event closes the assistant message with its status.
enum MessageUpdate: Sendable, Equatable {
    /// The run started: it joins the thread's runs, with the user's message.
    case opens(runID: String, user: MessageRecord.UserPart)
    /// More answer text.
    case appends(runID: String, text: String)
    /// The whole answer (the final report), and the model's token usage when the report carries it.
    case replaces(runID: String, text: String, usage: JSONValue?)
    case toolBegan(runID: String, MessageRecord.ToolCallPart)
    case toolEnded(runID: String, toolCallID: String, MessageRecord.ToolDonePart)
    /// The run ended.
    case closes(runID: String, MessageRecord.EndPart)

    /// What `entry` changes; decodes only the events that change anything.
    static func updates(for entry: PartitionEntry) -> [MessageUpdate] {
        let supervisor = entry.agentName == AgentName.supervisor
        switch entry.type {
        case .agentThinking: return []
        case .agentStarted where !supervisor, .agentCompleted where !supervisor, .agentError where !supervisor: return []
        default: break
        }
        guard let event = try? AgentEvent.decode(entry.json) else { return [] }
        let runID = entry.runID
        switch event.payload {
        case .agentStarted(let started):
            return [.opens(runID: runID, user: .init(content: started.input?.content, clientMessageID: started.input?.clientMessageID, createdAt: event.timestamp))]
        case .partialResult(let partial):
            return partial.content.isEmpty ? [] : [.appends(runID: runID, text: partial.content)]
        case .finalReport(let report):
            return [.replaces(runID: runID, text: report.report, usage: report.usage)]
        case .toolExecuting(let call):
            return [.toolBegan(runID: runID, .init(toolCallID: call.toolCallID, toolName: call.toolName, arguments: call.arguments))]
        case .toolCompleted(let done):
            return [.toolEnded(runID: runID, toolCallID: done.toolCallID, .init(status: done.status.rawValue, result: done.result, error: done.error))]
        case .agentCompleted(let completed):
            let status = completed.status == .success ? "complete" : "cancelled"
            return [.closes(runID: runID, .init(status: status, completedAt: event.timestamp))]
        case .agentError(let failure):
            let status = failure.code == .cancelled ? "cancelled" : "error"
            return [
                .closes(
                    runID: runID,
                    .init(status: status, completedAt: event.timestamp, errorCode: failure.code.rawValue, errorMessage: failure.message, retryable: failure.retryable))
            ]
        case .agentThinking:
            return []
        }
    }

    /// The four script arguments of the update: its kind, the run, then two values.
    var scriptArguments: [String] {
        switch self {
        case .opens(let runID, let user): ["open", runID, MessageRecord.encode(user), ThreadRecord.preview(of: user.content ?? "")]
        case .appends(let runID, let text): ["append", runID, text, ""]
        case .replaces(let runID, let text, let usage): ["replace", runID, text, usage.map { $0.jsonString() } ?? ""]
        case .toolBegan(let runID, let call): ["call", runID, call.toolCallID, MessageRecord.encode(call)]
        case .toolEnded(let runID, let toolCallID, let done): ["done", runID, toolCallID, MessageRecord.encode(done)]
        case .closes(let runID, let end): ["close", runID, MessageRecord.encode(end), ""]
        }
    }
}

extension [MessageUpdate] {
    /// Adds `update`, joining consecutive text of one run into one append, so a streamed answer costs one script
    /// step per batch rather than one per event.
    mutating func add(_ update: MessageUpdate) {
        if case .appends(let runID, let more) = update, case .appends(let lastRun, let text)? = last, lastRun == runID {
            self[count - 1] = .appends(runID: runID, text: text + more)
        } else if case .replaces(let runID, _, _) = update, case .appends(let lastRun, _)? = last, lastRun == runID {
            self[count - 1] = update
        } else {
            append(update)
        }
    }
}
