import HeraldProtocol

/// An event could not be delivered within the retry policy; the run cannot report any more.
public struct EventDeliveryError: Error, Sendable, CustomStringConvertible {
    public var eventType: EventType
    public var attempts: Int
    public var lastError: String

    public var description: String {
        "could not deliver \(eventType.rawValue) after \(attempts) attempts: \(lastError)"
    }
}
