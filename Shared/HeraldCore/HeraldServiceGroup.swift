import Logging
import ServiceLifecycle

/// The one way a Herald executable runs its services: in order, and shut down in reverse order however it ends.
///
/// swift-service-lifecycle's default answer to a service that throws or returns out of turn is to cancel the whole
/// group at once. That would close the Redis client (first in every group) while the worker still writes the
/// closing events of its runs. Here every service's end — an error, or a return before shutdown began — starts
/// the same ordered graceful shutdown a SIGTERM does, and the group still fails with the service's error.
public enum HeraldServiceGroup {
    /// A group that shuts down gracefully on SIGTERM and SIGINT, and on any service ending out of turn.
    public static func make(services: [any Service], logger: Logger) -> ServiceGroup {
        let configurations = services.map { service in
            ServiceGroupConfiguration.ServiceConfiguration(
                service: EndsOnlyAtShutdown(service),
                successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup,
                serviceName: "\(service)"
            )
        }
        return ServiceGroup(
            configuration: .init(services: configurations, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
    }
}

/// A service of a Herald executable returned before shutdown began: the process exits with an error naming it.
public struct ServiceEndedEarly: Error, CustomStringConvertible {
    public let service: String
    public var description: String { "\(service) stopped before shutdown began" }
}

/// Turns a service's early return into `ServiceEndedEarly`, so the group shuts down in order and fails.
private struct EndsOnlyAtShutdown: Service, CustomStringConvertible {
    let wrapped: any Service

    init(_ wrapped: any Service) {
        self.wrapped = wrapped
    }

    var description: String { "\(wrapped)" }

    func run() async throws {
        try await wrapped.run()
        if !Task.isShuttingDownGracefully && !Task.isCancelled {
            throw ServiceEndedEarly(service: description)
        }
    }
}
