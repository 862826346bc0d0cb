import Logging

/// A run in progress, as the agents see it.
public struct RunContext: Sendable {
    public let input: RunInput
    public let control: RunControl
    public let startedAt: ContinuousClock.Instant
    public let logger: Logger

    public init(input: RunInput, control: RunControl, startedAt: ContinuousClock.Instant = .now, logger: Logger) {
        self.input = input
        self.control = control
        self.startedAt = startedAt
        self.logger = logger
    }

    /// Milliseconds since the run started.
    public var elapsedMilliseconds: Int { (ContinuousClock.now - startedAt).milliseconds }
}
