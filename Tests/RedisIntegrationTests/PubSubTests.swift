import HeraldTesting
import NIOCore
import Redis
import Testing

@Suite("Pub/sub", .timeLimit(.minutes(1)))
struct PubSubTests {
    @Test func publishReachesItsSubscriber() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await withSubscriber(server) { subscriber in
                    let subscription = try await subscriber.subscribe("news")
                    #expect(subscription.channel == "news")
                    #expect(try await client.publish("news", "hello") == 1)
                    #expect(try await client.publish("news", [0, 1, 2] as [UInt8]) == 1)
                    var iterator = subscription.makeAsyncIterator()
                    #expect(try await nextMessage(&iterator) == "hello")
                    #expect(try await iterator.next() == .message(ByteBuffer(bytes: [0, 1, 2])))
                    await subscription.unsubscribe()
                    #expect(try await iterator.next() == nil)
                }
            }
        }
    }

    @Test func thousandChannels() async throws {
        let channels = (0..<1000).map { "channel-\($0)" }
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await withSubscriber(server) { subscriber in
                    let subscriptions = try await withThrowingTaskGroup(of: RedisSubscription.self) { group in
                        for channel in channels {
                            group.addTask { try await subscriber.subscribe(channel) }
                        }
                        return try await group.reduce(into: [String: RedisSubscription]()) { $0[$1.channel] = $1 }
                    }
                    #expect(subscriptions.count == channels.count)

                    let delivered = try await client.pipeline(channels.map { ["PUBLISH", RedisArgument($0), RedisArgument("for \($0)")] })
                    #expect(try delivered.map { try $0.get().int } == Array(repeating: 1, count: channels.count))

                    try await withThrowingTaskGroup(of: (String, String?).self) { group in
                        for (channel, subscription) in subscriptions {
                            group.addTask {
                                var iterator = subscription.makeAsyncIterator()
                                return (channel, try await nextMessage(&iterator))
                            }
                        }
                        for try await (channel, message) in group {
                            #expect(message == "for \(channel)")
                        }
                    }
                    for subscription in subscriptions.values {
                        await subscription.unsubscribe()
                    }
                    try await waitUntil("every channel is unsubscribed") { try await info(client, "pubsub_channels") == 0 }
                }
            }
        }
    }

    @Test func subscriptionsAreCountedPerChannel() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await withSubscriber(server) { subscriber in
                    let first = try await subscriber.subscribe("shared")
                    let second = try await subscriber.subscribe("shared")
                    #expect(try await numberOfSubscribers(client, "shared") == 1)

                    #expect(try await client.publish("shared", "one") == 1)
                    var firstIterator = first.makeAsyncIterator()
                    var secondIterator = second.makeAsyncIterator()
                    #expect(try await nextMessage(&firstIterator) == "one")
                    #expect(try await nextMessage(&secondIterator) == "one")

                    await first.unsubscribe()
                    #expect(try await firstIterator.next() == nil)
                    #expect(try await numberOfSubscribers(client, "shared") == 1)
                    #expect(try await client.publish("shared", "two") == 1)
                    #expect(try await nextMessage(&secondIterator) == "two")

                    // The second one ends because its consumer goes away (task cancelled), not by unsubscribe().
                    let consumer = Task { for try await _ in second {} }
                    consumer.cancel()
                    _ = await consumer.result
                    try await waitUntil("the channel is unsubscribed") { try await numberOfSubscribers(client, "shared") == 0 }
                }
            }
        }
    }

    @Test func droppingASubscriptionUnsubscribes() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await withSubscriber(server) { subscriber in
                    try await subscribeAndDrop(subscriber, "dropped")
                    try await waitUntil("the dropped subscription is unsubscribed") { try await numberOfSubscribers(client, "dropped") == 0 }

                    // The channel can be subscribed again afterwards.
                    let again = try await subscriber.subscribe("dropped")
                    #expect(try await client.publish("dropped", "back") == 1)
                    var iterator = again.makeAsyncIterator()
                    #expect(try await nextMessage(&iterator) == "back")
                }
            }
        }
    }

    private func subscribeAndDrop(_ subscriber: RedisSubscriber, _ channel: String) async throws {
        let subscription = try await subscriber.subscribe(channel)
        #expect(subscription.channel == channel)
    }

    @Test func slowConsumerOverflowsAlone() async throws {
        let bufferSize = 16
        let published = 1000
        try await withRedisServer { server in
            try await withClient(server) { client in
                try await withSubscriber(server, bufferSize: bufferSize) { subscriber in
                    let slow = try await subscriber.subscribe("slow")
                    let fast = try await subscriber.subscribe("fast")
                    _ = try await client.pipeline((0..<published).map { ["PUBLISH", "slow", RedisArgument("slow-\($0)")] })
                    _ = try await client.pipeline((0..<10).map { ["PUBLISH", "fast", RedisArgument("fast-\($0)")] })

                    // The fast messages were published after the slow ones on the same connection, so once they are
                    // read the subscriber has handled every slow message too.
                    var fastIterator = fast.makeAsyncIterator()
                    for index in 0..<10 {
                        #expect(try await nextMessage(&fastIterator) == "fast-\(index)")
                    }

                    var received: [String] = []
                    var slowIterator = slow.makeAsyncIterator()
                    await #expect(throws: RedisSubscriptionError.bufferOverflow(channel: "slow")) {
                        while let message = try await nextMessage(&slowIterator) {
                            received.append(message)
                        }
                    }
                    #expect(received == (0..<bufferSize).map { "slow-\($0)" })
                    #expect(subscriber.overflowCount == 1)
                    try await waitUntil("the overflowed channel is unsubscribed") { try await numberOfSubscribers(client, "slow") == 0 }

                    // The other subscription carries on, and the slow consumer can subscribe again.
                    #expect(try await client.publish("fast", "still here") == 1)
                    #expect(try await nextMessage(&fastIterator) == "still here")
                    let resubscribed = try await subscriber.subscribe("slow")
                    #expect(try await client.publish("slow", "fresh") == 1)
                    var again = resubscribed.makeAsyncIterator()
                    #expect(try await nextMessage(&again) == "fresh")
                }
            }
        }
    }

    @Test func subscribeBeforeConnectingIsRegistered() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                let subscriber = RedisSubscriber(configuration: try configuration(server), logger: testLogger)
                #expect(!subscriber.isConnected)
                let early = try await subscriber.subscribe("early")
                let running = Task { try await subscriber.run() }
                var iterator = early.makeAsyncIterator()
                #expect(try await iterator.next() == .resubscribed)
                #expect(try await client.publish("early", "now live") == 1)
                #expect(try await nextMessage(&iterator) == "now live")

                running.cancel()
                try await running.value
                #expect(try await iterator.next() == nil)
                #expect(!subscriber.isConnected)
                await #expect(throws: RedisError.self) { _ = try await subscriber.subscribe("late") }
            }
        }
    }

    @Test func refusedSubscribeFailsInsteadOfHanging() async throws {
        try await withRedisServer { server in
            try await withClient(server) { admin in
                _ = try await admin.send("ACL", "SETUSER", "limited", "on", ">pw", "~*", "resetchannels", "&allowed:*", "+@all")
            }
            var configuration = try RedisConfiguration(url: "redis://limited:pw@127.0.0.1:\(server.port)")
            configuration.commandTimeout = .seconds(1)
            let subscriber = RedisSubscriber(configuration: configuration, logger: testLogger)
            let running = Task { try await subscriber.run() }
            try await waitUntil("the subscriber connects") { subscriber.isConnected }

            await #expect {
                _ = try await subscriber.subscribe("forbidden")
            } throws: { error in
                guard let error = error as? RedisError, error.kind == .timeout else { return false }
                return error.message.contains("SUBSCRIBE forbidden") && error.message.contains("NOPERM")
            }
            let allowed = try await subscriber.subscribe("allowed:news")
            let receivers = try await withClient(server, { $0.url = configuration.url }) { try await $0.publish("allowed:news", "ok") }
            #expect(receivers == 1)
            var iterator = allowed.makeAsyncIterator()
            #expect(try await nextMessage(&iterator) == "ok")
            running.cancel()
            try await running.value
        }
    }
}
