import Redis
import ServiceLifecycle

/// Runs the gateway's pub/sub connection (one per gateway) until graceful shutdown.
struct SubscriberService: Service {
    let subscriber: RedisSubscriber

    func run() async throws {
        do {
            // The subscriber reconnects by itself until cancelled; shutdown cancels it.
            try await cancelWhenGracefulShutdown { [subscriber] in
                try await subscriber.run()
            }
        } catch is CancellationError {
            // Cancelled by shutdown: done.
        }
    }
}
