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
    /// The whole answer (the final report), and the model's token usage (JSON) when the report carries it.
    case replaces(runID: String, text: String, usage: String?)
    /// A tool call began: its `MessageRecord.ToolCallPart` JSON.
    case toolBegan(runID: String, toolCallID: String, json: String)
    /// A tool call ended: its `MessageRecord.ToolDonePart` JSON.
    case toolEnded(runID: String, toolCallID: String, json: String)
    /// The run ended.
    case closes(runID: String, MessageRecord.EndPart)

    /// What `entry` changes, read with `EventJSONScanner` (parts spliced from the event's own JSON); an event whose
    /// JSON the scanner does not follow is decoded.
    static func updates(for entry: PartitionEntry) -> [MessageUpdate] {
        let supervisor = entry.agentName == AgentName.supervisor
        switch entry.type {
        case .agentThinking: return []
        case .agentStarted where !supervisor, .agentCompleted where !supervisor, .agentError where !supervisor: return []
        default: return scanned(entry) ?? decoded(entry)
        }
    }

    /// What `entry` changes, from the event decoded whole: the scanner's fallback, and what tests hold it to.
    static func decoded(_ entry: PartitionEntry) -> [MessageUpdate] {
        guard entry.agentName == AgentName.supervisor || ![.agentStarted, .agentCompleted, .agentError].contains(entry.type),
            let event = try? AgentEvent.decode(entry.json)
        else { return [] }
        let runID = entry.runID
        switch event.payload {
        case .agentStarted(let started):
            return [
                .opens(
                    runID: runID,
                    user: .init(content: started.input?.content, clientMessageID: started.input?.clientMessageID, createdAt: event.timestamp)
                )
            ]
        case .partialResult(let partial):
            return partial.content.isEmpty ? [] : [.appends(runID: runID, text: partial.content)]
        case .finalReport(let report):
            return [.replaces(runID: runID, text: report.report, usage: report.usage?.jsonString())]
        case .toolExecuting(let call):
            return [
                .toolBegan(
                    runID: runID,
                    toolCallID: call.toolCallID,
                    json: MessageRecord.encode(
                        MessageRecord.ToolCallPart(toolCallID: call.toolCallID, toolName: call.toolName, arguments: call.arguments)
                    )
                )
            ]
        case .toolCompleted(let done):
            return [
                .toolEnded(
                    runID: runID,
                    toolCallID: done.toolCallID,
                    json: MessageRecord.encode(MessageRecord.ToolDonePart(status: done.status.rawValue, result: done.result, error: done.error))
                )
            ]
        case .agentCompleted(let completed):
            let status = completed.status == .success ? "complete" : "cancelled"
            return [.closes(runID: runID, .init(status: status, completedAt: event.timestamp))]
        case .agentError(let failure):
            let status = failure.code == .cancelled ? "cancelled" : "error"
            return [
                .closes(
                    runID: runID,
                    .init(
                        status: status,
                        completedAt: event.timestamp,
                        errorCode: failure.code.rawValue,
                        errorMessage: failure.message,
                        retryable: failure.retryable
                    )
                )
            ]
        case .agentThinking, .approvalRequested, .approvalResolved:
            return []
        }
    }

    /// What the event changes, read without decoding it; nil when its JSON is not as expected (the caller decodes
    /// it instead).
    private static func scanned(_ entry: PartitionEntry) -> [MessageUpdate]? {
        let scanner = EventJSONScanner(entry.json)
        guard let payload = scanner.member("payload") else { return nil }
        func string(_ key: String) -> String? { scanner.member(key, in: payload).flatMap(scanner.string) }
        func raw(_ key: String) -> String? {
            guard let range = scanner.member(key, in: payload) else { return nil }
            let text = scanner.raw(range)
            return text == "null" ? nil : text
        }
        let runID = entry.runID
        switch entry.type {
        case .partialResult:
            guard let content = string("content") else { return nil }
            return content.isEmpty ? [] : [.appends(runID: runID, text: content)]
        case .finalReport:
            guard let report = string("report") else { return nil }
            return [.replaces(runID: runID, text: report, usage: raw("usage"))]
        case .toolExecuting:
            guard let id = string("tool_call_id"), let rawID = raw("tool_call_id"), let name = raw("tool_name"), let arguments = raw("arguments")
            else { return nil }
            return [.toolBegan(runID: runID, toolCallID: id, json: #"{"tool_call_id":\#(rawID),"tool_name":\#(name),"arguments":\#(arguments)}"#)]
        case .toolCompleted:
            guard let id = string("tool_call_id"), let status = raw("status") else { return nil }
            var json = #"{"status":\#(status)"#
            if let result = raw("result") { json += #","result":\#(result)"# }
            if let error = raw("error") { json += #","error":\#(error)"# }
            return [.toolEnded(runID: runID, toolCallID: id, json: json + "}")]
        case .agentStarted:
            guard let createdAt = scanner.member("timestamp").flatMap(scanner.string) else { return nil }
            var user = MessageRecord.UserPart(content: nil, clientMessageID: nil, createdAt: createdAt)
            if let input = scanner.member("input", in: payload), scanner.raw(input) != "null" {
                guard let content = scanner.member("content", in: input).flatMap(scanner.string) else { return nil }
                user.content = content
                user.clientMessageID = scanner.member("client_msg_id", in: input).flatMap(scanner.string)
            }
            return [.opens(runID: runID, user: user)]
        case .agentCompleted:
            guard let completedAt = scanner.member("timestamp").flatMap(scanner.string), let status = string("status") else { return nil }
            return [.closes(runID: runID, .init(status: status == "success" ? "complete" : "cancelled", completedAt: completedAt))]
        case .agentError:
            guard let completedAt = scanner.member("timestamp").flatMap(scanner.string), let code = string("code"), let message = string("message")
            else {
                return nil
            }
            let status = code == AgentErrorCode.cancelled.rawValue ? "cancelled" : "error"
            return [
                .closes(
                    runID: runID,
                    .init(status: status, completedAt: completedAt, errorCode: code, errorMessage: message, retryable: raw("retryable") == "true")
                )
            ]
        case .agentThinking, .approvalRequested, .approvalResolved:
            return []
        }
    }

    /// The four script arguments of the update: its kind, the run, then two values.
    var scriptArguments: [String] {
        switch self {
        case .opens(let runID, let user): ["open", runID, MessageRecord.encode(user), ThreadRecord.preview(of: user.content ?? "")]
        case .appends(let runID, let text): ["append", runID, text, ""]
        case .replaces(let runID, let text, let usage): ["replace", runID, text, usage ?? ""]
        case .toolBegan(let runID, let toolCallID, let json): ["call", runID, toolCallID, json]
        case .toolEnded(let runID, let toolCallID, let json): ["done", runID, toolCallID, json]
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
