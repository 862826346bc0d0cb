/// The model provider failed: unreachable, refused the request, or answered with something unusable.
public struct ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// Whether trying again later may succeed (an outage rather than a bad request).
    public var retryable: Bool

    public init(_ message: String, retryable: Bool = true) {
        self.message = message
        self.retryable = retryable
    }

    public var description: String { message }
}
