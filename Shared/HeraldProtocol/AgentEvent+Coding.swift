import Foundation

private enum FrameKeys: String, CodingKey {
    case type, seq, epoch
    case threadID = "thread_id"
    case runID = "run_id"
    case eventID = "event_id"
    case agentName = "agent_name"
    case timestamp, payload
}

extension AgentEvent: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: FrameKeys.self)
        let type = try container.decode(EventType.self, forKey: .type)
        threadID = try container.decode(String.self, forKey: .threadID)
        runID = try container.decode(String.self, forKey: .runID)
        eventID = try container.decode(String.self, forKey: .eventID)
        agentName = try container.decode(String.self, forKey: .agentName)
        timestamp = try container.decode(String.self, forKey: .timestamp)
        switch type {
        case .agentStarted: payload = .agentStarted(try container.decode(EventPayload.AgentStarted.self, forKey: .payload))
        case .agentThinking: payload = .agentThinking(try container.decode(EventPayload.AgentThinking.self, forKey: .payload))
        case .toolExecuting: payload = .toolExecuting(try container.decode(EventPayload.ToolExecuting.self, forKey: .payload))
        case .toolCompleted: payload = .toolCompleted(try container.decode(EventPayload.ToolCompleted.self, forKey: .payload))
        case .approvalRequested: payload = .approvalRequested(try container.decode(EventPayload.ApprovalRequested.self, forKey: .payload))
        case .approvalResolved: payload = .approvalResolved(try container.decode(EventPayload.ApprovalResolved.self, forKey: .payload))
        case .partialResult: payload = .partialResult(try container.decode(EventPayload.PartialResult.self, forKey: .payload))
        case .finalReport: payload = .finalReport(try container.decode(EventPayload.FinalReport.self, forKey: .payload))
        case .agentCompleted: payload = .agentCompleted(try container.decode(EventPayload.AgentCompleted.self, forKey: .payload))
        case .agentError: payload = .agentError(try container.decode(EventPayload.AgentError.self, forKey: .payload))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FrameKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(threadID, forKey: .threadID)
        try container.encode(runID, forKey: .runID)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(agentName, forKey: .agentName)
        try container.encode(timestamp, forKey: .timestamp)
        switch payload {
        case .agentStarted(let body): try container.encode(body, forKey: .payload)
        case .agentThinking(let body): try container.encode(body, forKey: .payload)
        case .toolExecuting(let body): try container.encode(body, forKey: .payload)
        case .toolCompleted(let body): try container.encode(body, forKey: .payload)
        case .approvalRequested(let body): try container.encode(body, forKey: .payload)
        case .approvalResolved(let body): try container.encode(body, forKey: .payload)
        case .partialResult(let body): try container.encode(body, forKey: .payload)
        case .finalReport(let body): try container.encode(body, forKey: .payload)
        case .agentCompleted(let body): try container.encode(body, forKey: .payload)
        case .agentError(let body): try container.encode(body, forKey: .payload)
        }
    }

    /// Decodes the JSON object `encodedJSON()` wrote.
    public static func decode(_ json: String) throws -> AgentEvent {
        try JSONDecoder().decode(AgentEvent.self, from: Data(json.utf8))
    }

    /// The event's JSON object text, as the worker hands it to the relay.
    public func encodedJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Every field is a plain value, so encoding cannot fail.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension EventFrame: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: FrameKeys.self)
        seq = try container.decode(Int.self, forKey: .seq)
        epoch = try container.decode(String.self, forKey: .epoch)
        event = try AgentEvent(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FrameKeys.self)
        try container.encode(seq, forKey: .seq)
        try container.encode(epoch, forKey: .epoch)
        try event.encode(to: encoder)
    }

    /// Decodes an event frame as the gateway sends it.
    public static func decode(_ text: String) throws -> EventFrame {
        try JSONDecoder().decode(EventFrame.self, from: Data(text.utf8))
    }

    /// Builds the frame text from an event's JSON object text without re-encoding it:
    /// the relay and tests splice `seq` and `epoch` in front of the worker's fields.
    public static func splice(seq: Int, epoch: String, eventJSON: String) -> String {
        let body = eventJSON.dropFirst()  // the event's opening brace
        return #"{"seq":\#(seq),"epoch":"\#(epoch)","# + body
    }
}
