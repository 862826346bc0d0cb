import Foundation
import HeraldTesting
import Logging
import NIOCore
import Redis
import Testing

let testLogger = Logger.test("redis-tests")

func configuration(_ server: RedisServerProcess, _ adjust: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisConfiguration {
    var configuration = try server.configuration()
    adjust(&configuration)
    return configuration
}

/// Runs `body` with a client of `server` and always closes the client.
@discardableResult
func withClient<T>(
    _ server: RedisServerProcess,
    _ adjust: (inout RedisConfiguration) -> Void = { _ in },
    _ body: (RedisClient) async throws -> T
) async throws -> T {
    let client = RedisClient(configuration: try configuration(server, adjust), logger: testLogger)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

/// Runs `body` with a subscriber whose `run()` goes on in the background, connected before `body` starts.
@discardableResult
func withSubscriber<T>(
    _ server: RedisServerProcess,
    bufferSize: Int = 1024,
    _ body: (RedisSubscriber) async throws -> T
) async throws -> T {
    let subscriber = RedisSubscriber(configuration: try configuration(server), bufferSize: bufferSize, logger: testLogger)
    let running = Task { try await subscriber.run() }
    defer { running.cancel() }
    try await waitUntil("the subscriber connects") { subscriber.isConnected }
    let result = try await body(subscriber)
    running.cancel()
    try await running.value
    return result
}

/// The value of one `INFO` field, e.g. `blocked_clients`.
func info(_ client: RedisClient, _ field: String) async throws -> Int? {
    let text = try await client.send("INFO").string ?? ""
    let line = text.split(whereSeparator: \.isNewline).first { $0.hasPrefix("\(field):") }
    return line.flatMap { Int($0.dropFirst(field.count + 1)) }
}

/// How many connections subscribe to `channel`.
func numberOfSubscribers(_ client: RedisClient, _ channel: String) async throws -> Int {
    let reply = try await client.send("PUBSUB", "NUMSUB", channel)
    return reply.array?.last?.int ?? -1
}

/// The next message of a subscription; fails on anything else.
func nextMessage(_ iterator: inout RedisSubscription.AsyncIterator) async throws -> String? {
    switch try await iterator.next() {
    case .message(let payload): return String(buffer: payload)
    case .resubscribed: throw RedisError(kind: .decoding, message: "expected a message, got .resubscribed")
    case nil: return nil
    }
}
