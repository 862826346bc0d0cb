import HeraldTesting
import NIOCore
import Redis
import Testing

/// Subscriptions whose events go to a handler (`subscribe(_:handler:)`), against a real server.
@Suite("Push subscriptions", .timeLimit(.minutes(1)))
struct PushSubscriptionTests {
    /// What a handler was told, as the test reads it.
    private static func recorder() -> (AsyncStream<String>, @Sendable (RedisSubscriptionUpdate) -> Void) {
        let (updates, continuation) = AsyncStream<String>.makeStream()
        return (
            updates,
            { update in
                switch update {
                case .event(.message(let payload)): continuation.yield("message \(String(buffer: payload))")
                case .event(.resubscribed): continuation.yield("resubscribed")
                case .ended(nil): continuation.yield("ended")
                case .ended(.some(let error)): continuation.yield("ended with \(error)")
                }
            }
        )
    }

    @Test func messagesReachTheHandlerInOrderBesideAStreamOfTheSameChannelThenTheEnd() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await withSubscriber(server) { subscriber in
                    let (updates, handler) = Self.recorder()
                    let pushed = try await subscriber.subscribe("news", handler: handler)
                    #expect(pushed.channel == "news")
                    let streamed = try await subscriber.subscribe("news")
                    #expect(try await numberOfSubscribers(client, "news") == 1)
                    for index in 0..<100 {
                        #expect(try await client.publish("news", "\(index)") == 1)
                    }
                    var iterator = updates.makeAsyncIterator()
                    var streamedIterator = streamed.makeAsyncIterator()
                    for index in 0..<100 {
                        #expect(await iterator.next() == "message \(index)")
                        #expect(try await nextMessage(&streamedIterator) == "\(index)")
                    }
                    await pushed.unsubscribe()
                    #expect(await iterator.next() == "ended")
                    // The stream still holds the channel.
                    #expect(try await numberOfSubscribers(client, "news") == 1)
                    #expect(try await client.publish("news", "after") == 1)
                    #expect(try await nextMessage(&streamedIterator) == "after")
                    await streamed.unsubscribe()
                    try await waitUntil("the channel is unsubscribed") { try await numberOfSubscribers(client, "news") == 0 }
                }
            }
        }
    }

    @Test func aRestartedServerIsToldAsResubscribedAndAStoppedSubscriberAsTheEnd() async throws {
        try await withRedisServer { server in
            let (updates, handler) = Self.recorder()
            var iterator = updates.makeAsyncIterator()
            try await withClient(server) { client in
                try await withSubscriber(server) { subscriber in
                    _ = try await subscriber.subscribe("alpha", handler: handler)
                    await server.kill()
                    try await server.restart()
                    #expect(await iterator.next() == "resubscribed")
                    #expect(try await client.publish("alpha", "after restart") == 1)
                    #expect(await iterator.next() == "message after restart")
                }
            }
            // withSubscriber stopped it.
            #expect(await iterator.next() == "ended")
        }
    }
}
