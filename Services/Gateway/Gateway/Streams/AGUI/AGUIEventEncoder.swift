import HeraldProtocol
import NIOCore

/// Herald's events of one run as AG-UI 1.0 events (docs/agui.md has the table).
///
/// Text and reasoning messages are opened before their first content and closed before a tool call starts or the
/// run ends, so the stream passes the AG-UI client's ordering checks. Each event carries the Herald event it comes
/// from in `metadata.herald`, since AG-UI drops unknown top-level fields.
struct AGUIEventEncoder: StreamEventEncoder {
    /// The ids the client chose, echoed in `RUN_STARTED` and `RUN_FINISHED`.
    let clientThreadID: String
    let clientRunID: String
    /// The Herald run this stream shows; other runs' events on the thread are skipped.
    let runID: String

    /// The AG-UI version these streams speak, declared in `RUN_STARTED`.
    static let protocolVersion = "1.0"

    /// Where a stream that continues a paused run starts: it is a new AG-UI run (its own `RUN_STARTED`) of the same
    /// Herald run, with the steps that were open when it paused opened again.
    struct Continuation: Sendable, Equatable {
        var openSteps: [String]
        /// The thread's seq the stream starts after; its message ids carry it, so they differ from the first run's.
        var afterSeq: Int
    }

    private(set) var isFinished = false
    private var openTextMessage: String?
    private var messagesOpened = 0
    private var report: String?
    /// Sub-agents started and not finished, as `STEP_STARTED` opened them.
    private var openSteps: [String] = []
    /// Set until a continuing stream's first event opens it.
    private var continuation: Continuation?
    private let messagePrefix: String

    init(clientThreadID: String, clientRunID: String, runID: String, continuing continuation: Continuation? = nil) {
        self.clientThreadID = clientThreadID
        self.clientRunID = clientRunID
        self.runID = runID
        self.continuation = continuation
        self.messagePrefix = continuation.map { "\(runID)-\($0.afterSeq)" } ?? runID
    }

    mutating func encode(_ frame: EventFrame, into buffer: inout ByteBuffer) {
        for event in events(for: frame) {
            buffer.writeServerSentEvent(JSONValue.object(event).jsonString())
        }
    }

    /// The AG-UI events for one Herald event, each an object with `type`, `timestamp` and `metadata`.
    mutating func events(for frame: EventFrame) -> [[String: JSONValue]] {
        guard !isFinished, frame.runID == runID else { return [] }
        let event = frame.event
        var out: [[String: JSONValue]] = []
        func add(_ type: String, _ fields: [String: JSONValue] = [:]) {
            var object = fields
            object["type"] = .string(type)
            if let seconds = HeraldTimestamp.secondsSince1970(event.timestamp) {
                object["timestamp"] = .number((seconds * 1000).rounded())
            }
            object["metadata"] = [
                "herald": [
                    "seq": .number(Double(frame.seq)), "epoch": .string(frame.epoch), "event_id": .string(event.eventID),
                    "run_id": .string(event.runID), "thread_id": .string(event.threadID),
                ]
            ]
            out.append(object)
        }
        func closeText() {
            if let message = openTextMessage {
                add("TEXT_MESSAGE_END", ["messageId": .string(message)])
                openTextMessage = nil
            }
        }
        let isSupervisor = event.agentName == AgentName.supervisor
        func startRun() {
            add(
                "RUN_STARTED",
                ["threadId": .string(clientThreadID), "runId": .string(clientRunID), "protocolVersion": .string(Self.protocolVersion)]
            )
        }
        if let continuing = continuation {
            continuation = nil
            startRun()
            for step in continuing.openSteps {
                add("STEP_STARTED", ["stepName": .string(step)])
                openSteps.append(step)
            }
        }
        switch event.payload {
        case .agentStarted(let started):
            if isSupervisor {
                startRun()
            } else {
                add("STEP_STARTED", ["stepName": .string(started.agentName)])
                openSteps.append(started.agentName)
            }
        case .agentThinking(let thinking):
            guard !thinking.thought.isEmpty else { break }
            closeText()
            let message = nextMessageID("reasoning")
            add("REASONING_START", ["messageId": .string(message)])
            add("REASONING_MESSAGE_START", ["messageId": .string(message), "role": "reasoning"])
            add("REASONING_MESSAGE_CONTENT", ["messageId": .string(message), "delta": .string(thinking.thought)])
            add("REASONING_MESSAGE_END", ["messageId": .string(message)])
            add("REASONING_END", ["messageId": .string(message)])
        case .partialResult(let part):
            if !part.content.isEmpty {
                let message: String
                if let open = openTextMessage {
                    message = open
                } else {
                    message = nextMessageID("text")
                    openTextMessage = message
                    add("TEXT_MESSAGE_START", ["messageId": .string(message), "role": "assistant"])
                }
                add("TEXT_MESSAGE_CONTENT", ["messageId": .string(message), "delta": .string(part.content)])
            }
            if part.isComplete { closeText() }
        case .toolExecuting(let tool):
            closeText()
            add("TOOL_CALL_START", ["toolCallId": .string(tool.toolCallID), "toolCallName": .string(tool.toolName)])
            add("TOOL_CALL_ARGS", ["toolCallId": .string(tool.toolCallID), "delta": .string(tool.arguments.jsonString())])
            add("TOOL_CALL_END", ["toolCallId": .string(tool.toolCallID)])
        case .toolCompleted(let tool) where tool.result == ClientToolHandover.result:
            // The client runs it: its result comes with the client's next request, not from here.
            break
        case .toolCompleted(let tool):
            var content: JSONValue = tool.result ?? ["status": .string(tool.status.rawValue)]
            if tool.status != .success {
                content = ["status": .string(tool.status.rawValue), "error": tool.error.map(JSONValue.string) ?? .null]
            }
            add(
                "TOOL_CALL_RESULT",
                [
                    "messageId": .string("\(tool.toolCallID)-result"), "toolCallId": .string(tool.toolCallID),
                    "content": .string(content.jsonString()), "role": "tool",
                ]
            )
        case .approvalRequested(let request):
            // An AG-UI interrupt: this run finishes here, and a request whose `resume[]` answers it continues it.
            closeText()
            for step in openSteps.reversed() { add("STEP_FINISHED", ["stepName": .string(step)]) }
            openSteps.removeAll()
            let interrupt: JSONValue = [
                "id": .string(request.approvalID), "reason": "tool_call", "toolCallId": .string(request.toolCallID),
                "message": .string("Approve \(request.toolName)?"), "expiresAt": .string(request.expiresAt),
                "responseSchema": Self.approvalResponseSchema,
                "metadata": ["herald": ["tool_name": .string(request.toolName), "arguments": request.arguments]],
            ]
            add(
                "RUN_FINISHED",
                [
                    "threadId": .string(clientThreadID), "runId": .string(clientRunID),
                    "outcome": ["type": "interrupt", "interrupts": [interrupt]],
                ]
            )
            isFinished = true
        case .approvalResolved(let resolution):
            var value: [String: JSONValue] = [
                "approval_id": .string(resolution.approvalID), "tool_call_id": .string(resolution.toolCallID),
                "decision": .string(resolution.decision.rawValue), "arguments": resolution.arguments,
            ]
            if let decidedBy = resolution.decidedBy { value["decided_by"] = .string(decidedBy) }
            if let reason = resolution.reason { value["reason"] = .string(reason) }
            add("CUSTOM", ["name": "herald.approval_resolved", "value": .object(value)])
        case .finalReport(let final):
            report = final.report
            add(
                "CUSTOM",
                [
                    "name": "herald.final_report",
                    "value": ["report": .string(final.report), "total_duration_ms": .number(Double(final.totalDurationMs))],
                ]
            )
        case .agentCompleted(let completed):
            guard isSupervisor else {
                add("STEP_FINISHED", ["stepName": .string(completed.agentName)])
                openSteps.removeAll { $0 == completed.agentName }
                break
            }
            closeText()
            var finished: [String: JSONValue] = [
                "threadId": .string(clientThreadID), "runId": .string(clientRunID),
                "outcome": ["type": .string(completed.status == .cancelled ? "cancelled" : "success")],
            ]
            if let report { finished["result"] = .string(report) }
            add("RUN_FINISHED", finished)
            isFinished = true
        case .agentError(let error):
            guard isSupervisor else {
                add("STEP_FINISHED", ["stepName": .string(error.agentName)])
                openSteps.removeAll { $0 == error.agentName }
                break
            }
            closeText()
            add("RUN_ERROR", ["message": .string(error.message), "code": .string(error.code.rawValue)])
            isFinished = true
        }
        return out
    }

    private mutating func nextMessageID(_ kind: String) -> String {
        messagesOpened += 1
        return "\(messagePrefix)-\(kind)-\(messagesOpened)"
    }

    /// What a `resume[]` entry's payload says to answer an approval interrupt.
    static let approvalResponseSchema: JSONValue = [
        "type": "object",
        "properties": [
            "decision": ["type": "string", "enum": ["approve", "deny"]],
            "arguments": ["type": "object", "description": "the tool's arguments as approved, when edited"],
            "reason": ["type": "string"],
        ],
        "required": ["decision"],
    ]
}
