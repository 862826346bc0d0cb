import Foundation
import HeraldProtocol
import NIOCore
import Redis

/// An event as it waits in an event partition stream: its JSON, plus copies of the fields the relay
/// routes by, so the relay sequences and publishes it without parsing the JSON.
///
/// Workers write it (`RedisEventSink`), the relay's watchdog writes closing events the same way,
/// and the relay reads it. An entry that carries only the JSON is still read, by decoding it.
public struct PartitionEntry: Sendable, Equatable {
    /// The stream fields of an entry.
    public enum Field {
        public static let event = "event"
        public static let thread = "thread"
        public static let run = "run"
        public static let eventID = "id"
        public static let agent = "agent"
        public static let type = "type"
        public static let timestamp = "ts"
    }

    /// The event's JSON object, exactly as clients will see it after the relay adds `seq` and `epoch`.
    public var json: String
    public var threadID: String
    public var runID: String
    public var eventID: String
    public var agentName: String
    public var type: EventType
    /// The worker's emit time (`timestamp` of the event).
    public var timestamp: String

    public init(_ event: AgentEvent) {
        self.init(event, json: event.encodedJSON())
    }

    private init(_ event: AgentEvent, json: String) {
        self.init(json: json, threadID: event.threadID, runID: event.runID, eventID: event.eventID, agentName: event.agentName, type: event.type, timestamp: event.timestamp)
    }

    private init(json: String, threadID: String, runID: String, eventID: String, agentName: String, type: EventType, timestamp: String) {
        self.json = json
        self.threadID = threadID
        self.runID = runID
        self.eventID = eventID
        self.agentName = agentName
        self.type = type
        self.timestamp = timestamp
    }

    /// Whether this event ends its run (see `AgentEvent.isRunTerminal`).
    public var isRunTerminal: Bool {
        agentName == AgentName.supervisor && (type == .agentCompleted || type == .agentError)
    }

    /// The `XADD` field-value pairs.
    public var fields: [(String, RedisArgument)] {
        [
            (Field.event, RedisArgument(json)),
            (Field.thread, RedisArgument(threadID)),
            (Field.run, RedisArgument(runID)),
            (Field.eventID, RedisArgument(eventID)),
            (Field.agent, RedisArgument(agentName)),
            (Field.type, RedisArgument(type.rawValue)),
            (Field.timestamp, RedisArgument(timestamp)),
        ]
    }

    /// Reads a stream entry; nil when it holds no event a worker could have written.
    public init?(_ entry: RedisStreamEntry) {
        var json: String?
        var threadID: String?
        var runID: String?
        var eventID: String?
        var agentName: String?
        var type: EventType?
        var timestamp: String?
        for (name, value) in entry.fields {
            switch name {
            case Field.event: json = String(buffer: value)
            case Field.thread: threadID = String(buffer: value)
            case Field.run: runID = String(buffer: value)
            case Field.eventID: eventID = String(buffer: value)
            case Field.agent: agentName = String(buffer: value)
            case Field.type: type = EventType(rawValue: String(buffer: value))
            case Field.timestamp: timestamp = String(buffer: value)
            default: continue
            }
        }
        guard let json, json.utf8.first == UInt8(ascii: "{") else { return nil }
        if let threadID, let runID, let eventID, let agentName, let type, let timestamp {
            self.init(json: json, threadID: threadID, runID: runID, eventID: eventID, agentName: agentName, type: type, timestamp: timestamp)
        } else {
            // Written by a worker that predates the routing fields (a rolling upgrade): decode the JSON itself.
            guard let event = try? AgentEvent.decode(json) else { return nil }
            self.init(event, json: json)
        }
    }
}
