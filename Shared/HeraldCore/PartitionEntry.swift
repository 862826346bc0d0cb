import Foundation
import HeraldProtocol
import NIOCore
import Redis

/// An event as it waits in an event partition stream: its JSON, plus copies of the fields the relay
/// routes by, so the relay sequences and publishes it without parsing the JSON.
///
/// Workers write it (`RedisEventSink`), the relay's watchdog writes closing events the same way,
/// and the relay reads it. The routing fields travel packed in one stream field (`route`, separated by
/// U+001F), because Redis and the relay pay per field of every entry. Entries in the older layouts, with a
/// field per routing value or with the JSON alone, are read too, so workers can be upgraded one at a time.
public struct PartitionEntry: Sendable, Equatable {
    /// The stream fields of an entry.
    public enum Field {
        public static let event = "event"
        /// Thread, run, event id, agent, type and timestamp, joined by `routeSeparator`.
        public static let route = "route"
        // The older layout, one field per routing value, which workers still running it write.
        public static let thread = "thread"
        public static let run = "run"
        public static let eventID = "id"
        public static let agent = "agent"
        public static let type = "type"
        public static let timestamp = "ts"
    }

    /// Separates the values of the `route` field; no id, agent name, type or timestamp holds it.
    public static let routeSeparator = Character("\u{1F}")

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
        self.init(
            json: json,
            threadID: event.threadID,
            runID: event.runID,
            eventID: event.eventID,
            agentName: event.agentName,
            type: event.type,
            timestamp: event.timestamp
        )
    }

    /// An entry for an event whose JSON the producer wrote itself (the benchmarks' load generator, which fills a
    /// template per event): `json` must be the event's object as `AgentEvent.encodedJSON()` writes it, with the
    /// same routing values.
    public init(json: String, threadID: String, runID: String, eventID: String, agentName: String, type: EventType, timestamp: String) {
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
        let separator = String(Self.routeSeparator)
        let route = [threadID, runID, eventID, agentName, type.rawValue, timestamp].joined(separator: separator)
        return [(Field.event, RedisArgument(json)), (Field.route, RedisArgument(route))]
    }

    /// Reads a stream entry; nil when it holds no event a worker could have written.
    public init?(_ entry: RedisStreamEntry) {
        var json: String?
        var route: ByteBuffer?
        var single: [String: String] = [:]
        for (name, value) in entry.fields {
            switch name {
            case Field.event: json = String(buffer: value)
            case Field.route: route = value
            case Field.thread, Field.run, Field.eventID, Field.agent, Field.type, Field.timestamp: single[name] = String(buffer: value)
            default: continue
            }
        }
        guard let json, json.utf8.first == UInt8(ascii: "{") else { return nil }
        if let route {
            guard let parts = Self.routeValues(route), let type = EventType(rawValue: parts.type) else { return nil }
            self.init(
                json: json,
                threadID: parts.thread,
                runID: parts.run,
                eventID: parts.eventID,
                agentName: parts.agent,
                type: type,
                timestamp: parts.timestamp
            )
        } else if let threadID = single[Field.thread], let runID = single[Field.run], let eventID = single[Field.eventID],
            let agentName = single[Field.agent], let type = single[Field.type].flatMap(EventType.init(rawValue:)),
            let timestamp = single[Field.timestamp]
        {
            self.init(json: json, threadID: threadID, runID: runID, eventID: eventID, agentName: agentName, type: type, timestamp: timestamp)
        } else {
            // Written by a worker that predates the routing fields: decode the JSON itself.
            guard let event = try? AgentEvent.decode(json) else { return nil }
            self.init(event, json: json)
        }
    }

    /// The six values of a `route` field, split on the separator's byte (it is ASCII, so never inside a UTF-8
    /// sequence); nil unless there are exactly six.
    private static func routeValues(
        _ route: ByteBuffer
    ) -> (thread: String, run: String, eventID: String, agent: String, type: String, timestamp: String)? {
        route.withUnsafeReadableBytes { bytes in
            let separator = UInt8(ascii: "\u{1F}")
            var values: (String, String, String, String, String, String) = ("", "", "", "", "", "")
            var start = 0
            for position in 0..<6 {
                var end = start
                while end < bytes.count, bytes[end] != separator { end += 1 }
                // Only the last value runs to the end, and only it may.
                guard (end < bytes.count) == (position < 5) else { return nil }
                let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                switch position {
                case 0: values.0 = value
                case 1: values.1 = value
                case 2: values.2 = value
                case 3: values.3 = value
                case 4: values.4 = value
                default: values.5 = value
                }
                start = end + 1
            }
            return (values.0, values.1, values.2, values.3, values.4, values.5)
        }
    }
}
