import Foundation

/// One event as a worker emits it: everything of an event frame except the thread's `seq` and `epoch`,
/// which the relay assigns.
public struct AgentEvent: Sendable, Equatable {
    public var threadID: String
    public var runID: String
    public var eventID: String
    public var agentName: String
    public var timestamp: String
    public var payload: EventPayload

    public var type: EventType { payload.type }

    public init(
        threadID: String,
        runID: String,
        eventID: String = EventID.make(),
        agentName: String,
        timestamp: String = HeraldTimestamp.now(),
        payload: EventPayload
    ) {
        self.threadID = threadID
        self.runID = runID
        self.eventID = eventID
        self.agentName = agentName
        self.timestamp = timestamp
        self.payload = payload
    }

    /// Whether this event ends its run: the supervisor's `agent_completed` or `agent_error`.
    public var isRunTerminal: Bool {
        guard agentName == AgentName.supervisor else { return false }
        return type == .agentCompleted || type == .agentError
    }
}

/// An event as clients receive it: the worker's event plus its place in the thread's log.
public struct EventFrame: Sendable, Equatable {
    public var seq: Int
    public var epoch: String
    public var event: AgentEvent

    public init(seq: Int, epoch: String, event: AgentEvent) {
        self.seq = seq
        self.epoch = epoch
        self.event = event
    }

    public var type: EventType { event.type }
    public var threadID: String { event.threadID }
    public var runID: String { event.runID }
}

/// Makes unique event ids.
public enum EventID {
    public static func make() -> String {
        UUID().uuidString.lowercased()
    }
}
