import HeraldProtocol

/// A session's `partial_result` event as JSON, encoded once, with its event id, timestamp and emit stamp filled in
/// per event by joining strings: a `JSONEncoder` per event cost the load generator more CPU at 10,000 events/s than
/// the systems it measures, on the same two cores.
struct StampedEventTemplate: Sendable {
    let threadID: String
    let runID: String
    let agentName: String
    /// The text around the placeholders, one more than `slots`.
    private let segments: [String]
    /// Which value fills each gap between segments, in the order the encoder wrote the fields.
    private let slots: [Slot]

    private enum Slot: String, CaseIterable {
        case eventID = "PATHEVENTIDSLOT"
        case timestamp = "PATHTIMESTAMPSLOT"
        case stamp = "PATHSTAMPSLOT"
    }

    init(threadID: String, runID: String, agentName: String) {
        self.threadID = threadID
        self.runID = runID
        self.agentName = agentName
        let json = AgentEvent(
            threadID: threadID,
            runID: runID,
            eventID: Slot.eventID.rawValue,
            agentName: agentName,
            timestamp: Slot.timestamp.rawValue,
            payload: .partialResult(.init(content: Slot.stamp.rawValue, isComplete: false))
        ).encodedJSON()
        let found = Slot.allCases.compactMap { slot in json.range(of: slot.rawValue).map { (slot, $0) } }
            .sorted { $0.1.lowerBound < $1.1.lowerBound }
        precondition(found.count == Slot.allCases.count, "every slot appears once in the event's JSON")
        var segments: [String] = []
        var start = json.startIndex
        for (_, range) in found {
            segments.append(String(json[start..<range.lowerBound]))
            start = range.upperBound
        }
        segments.append(String(json[start...]))
        self.segments = segments
        self.slots = found.map(\.0)
    }

    /// The event's JSON with these values, exactly as `AgentEvent.encodedJSON()` would write it.
    func json(eventID: String, timestamp: String, stamp: String) -> String {
        var text = segments[0]
        for (index, slot) in slots.enumerated() {
            switch slot {
            case .eventID: text += eventID
            case .timestamp: text += timestamp
            case .stamp: text += stamp
            }
            text += segments[index + 1]
        }
        return text
    }
}
