import Foundation
import Redis
import ServiceLifecycle

/// Keeps a `RedisClient` open while its `ServiceGroup` runs and closes it at shutdown.
///
/// Put it first in a `HeraldServiceGroup`: services shut down in reverse order, also when one ends out of turn,
/// so everything after it that sends commands has stopped before the client closes.
///
/// At start it checks once, beside the other services, that Redis accepts the client's TLS and credentials
/// (`RedisStartupCheck`). When Redis refuses them it prints the one line of a bad setting and ends the executable
/// at once with `SettingsCatalogue.badSettingExitCode`: no retry would get past the refusal, and a service Redis
/// never let in holds nothing there that a graceful shutdown would have to hand back.
public struct RedisClientService: Service, CustomStringConvertible {
    public let client: RedisClient

    public init(_ client: RedisClient) {
        self.client = client
    }

    /// Names the service without the client's configuration, which holds the Redis URL and its credentials.
    public var description: String { "RedisClientService" }

    public func run() async throws {
        // Not a child task: a check still waiting for an unreachable Redis must not hold up shutdown.
        let check = Task { [client] in
            guard let refusal = await RedisStartupCheck.refusal(of: client.configuration, logger: client.logger), !Task.isCancelled else { return }
            FileHandle.standardError.write(Data("\(ProcessInfo.processInfo.processName): invalid setting \(refusal)\n".utf8))
            exit(SettingsCatalogue.badSettingExitCode)
        }
        // Returns at graceful shutdown; throws only when the group's own task is cancelled (the cancellation
        // timeout ran out), when nothing else can still use the client. Either way it closes.
        try? await gracefulShutdown()
        check.cancel()
        await client.close()
    }
}

/// Runs a `RedisSubscriber`'s pub/sub connection (it reconnects by itself) until its `ServiceGroup` shuts down.
///
/// Put it before the services that subscribe: they stop first, and their subscriptions end with them.
public struct RedisSubscriberService: Service, CustomStringConvertible {
    public let subscriber: RedisSubscriber

    public init(_ subscriber: RedisSubscriber) {
        self.subscriber = subscriber
    }

    public var description: String { "RedisSubscriberService" }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { [subscriber] in
                try await subscriber.run()
            }
        } catch is CancellationError {
            // Shutdown cancelled the connection: done.
        }
    }
}
