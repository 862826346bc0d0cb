import HeraldProtocol
import NIOCore

/// Herald's events of one run as the AI SDK's UI message stream v1 (docs/ai-sdk.md has the table).
///
/// Each Herald event also goes out as a transient `data-herald-event` part with its `seq`, `epoch` and `event_id`,
/// which `useChat` hands to `onData` without keeping it in the message.
struct UIMessageStreamEncoder: StreamEventEncoder {
    /// The Herald run this stream shows; other runs' events on the thread are skipped.
    let runID: String

    private(set) var isFinished = false
    private var openText: String?
    private var partsOpened = 0

    init(runID: String) {
        self.runID = runID
    }

    mutating func encode(_ frame: EventFrame, into buffer: inout ByteBuffer) {
        for part in parts(for: frame) {
            buffer.writeServerSentEvent(JSONValue.object(part).jsonString())
        }
    }

    /// The stream's parts for one Herald event.
    mutating func parts(for frame: EventFrame) -> [[String: JSONValue]] {
        guard !isFinished, frame.runID == runID else { return [] }
        let event = frame.event
        var out: [[String: JSONValue]] = [
            [
                "type": "data-herald-event", "transient": true,
                "data": [
                    "seq": .number(Double(frame.seq)), "epoch": .string(frame.epoch), "event_id": .string(event.eventID),
                    "type": .string(event.type.rawValue), "agent_name": .string(event.agentName), "timestamp": .string(event.timestamp),
                ],
            ]
        ]
        func add(_ type: String, _ fields: [String: JSONValue] = [:]) {
            var part = fields
            part["type"] = .string(type)
            out.append(part)
        }
        func closeText() {
            if let id = openText {
                add("text-end", ["id": .string(id)])
                openText = nil
            }
        }
        let isSupervisor = event.agentName == AgentName.supervisor
        switch event.payload {
        case .agentStarted:
            if isSupervisor {
                add("start", ["messageId": .string(runID)])
            } else {
                add("start-step")
            }
        case .agentThinking(let thinking):
            guard !thinking.thought.isEmpty else { break }
            closeText()
            let id = nextPartID("reasoning")
            add("reasoning-start", ["id": .string(id)])
            add("reasoning-delta", ["id": .string(id), "delta": .string(thinking.thought)])
            add("reasoning-end", ["id": .string(id)])
        case .partialResult(let part):
            if !part.content.isEmpty {
                let id: String
                if let open = openText {
                    id = open
                } else {
                    id = nextPartID("text")
                    openText = id
                    add("text-start", ["id": .string(id)])
                }
                add("text-delta", ["id": .string(id), "delta": .string(part.content)])
            }
            if part.isComplete { closeText() }
        case .toolExecuting(let tool):
            closeText()
            add("tool-input-available", ["toolCallId": .string(tool.toolCallID), "toolName": .string(tool.toolName), "input": tool.arguments])
        case .toolCompleted(let tool) where tool.result == ClientToolHandover.result:
            // The client runs it (`addToolResult`): no output from here.
            break
        case .toolCompleted(let tool):
            if tool.status == .success {
                add("tool-output-available", ["toolCallId": .string(tool.toolCallID), "output": tool.result ?? .null])
            } else {
                add("tool-output-error", ["toolCallId": .string(tool.toolCallID), "errorText": .string(tool.error ?? tool.status.rawValue)])
            }
        case .approvalRequested(let request):
            closeText()
            add(
                "data-herald-approval-requested",
                [
                    "id": .string(request.approvalID),
                    "data": [
                        "approval_id": .string(request.approvalID), "tool_call_id": .string(request.toolCallID),
                        "tool_name": .string(request.toolName), "arguments": request.arguments, "expires_at": .string(request.expiresAt),
                    ],
                ]
            )
        case .approvalResolved(let resolution):
            var data: [String: JSONValue] = [
                "approval_id": .string(resolution.approvalID), "tool_call_id": .string(resolution.toolCallID),
                "decision": .string(resolution.decision.rawValue), "arguments": resolution.arguments,
            ]
            if let decidedBy = resolution.decidedBy { data["decided_by"] = .string(decidedBy) }
            if let reason = resolution.reason { data["reason"] = .string(reason) }
            // The same id as the request's part: the AI SDK replaces a data part of the same type and id.
            add("data-herald-approval-resolved", ["id": .string(resolution.approvalID), "data": .object(data)])
        case .finalReport(let final):
            add("data-herald-final-report", ["data": ["report": .string(final.report), "total_duration_ms": .number(Double(final.totalDurationMs))]])
        case .agentCompleted(let completed):
            guard isSupervisor else {
                closeText()
                add("finish-step")
                break
            }
            closeText()
            add(completed.status == .cancelled ? "abort" : "finish")
            isFinished = true
        case .agentError(let error):
            guard isSupervisor else {
                closeText()
                add("finish-step")
                break
            }
            closeText()
            add("error", ["errorText": .string("\(error.code.rawValue): \(error.message)")])
            isFinished = true
        }
        return out
    }

    private mutating func nextPartID(_ kind: String) -> String {
        partsOpened += 1
        return "\(runID)-\(kind)-\(partsOpened)"
    }
}
