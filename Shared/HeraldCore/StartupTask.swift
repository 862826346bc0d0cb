import ServiceLifecycle

/// Work done once when a service group starts (after the services before it), then nothing until shutdown.
public struct StartupTask: Service, CustomStringConvertible {
    public let description: String
    private let body: @Sendable () async -> Void

    public init(_ description: String, _ body: @escaping @Sendable () async -> Void) {
        self.description = description
        self.body = body
    }

    public func run() async throws {
        await body()
        try? await gracefulShutdown()
    }
}
