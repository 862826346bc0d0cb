import HeraldTesting
import Logging
import NIOCore
import Redis
import Testing

/// A connection whose "Redis" sends malformed replies over a real socket: the command waiting for the reply
/// fails with a clear error, the connection closes, and nothing else happens to the process.
@Suite(.timeLimit(.minutes(1)))
struct HostileReplyTests {
    @Test(arguments: [
        ("an unknown type byte", "?\r\n"),
        ("a RESP3 map", "%1\r\n+a\r\n+b\r\n"),
        ("arrays nested too deep", String(repeating: "*1\r\n", count: 64) + ":1\r\n"),
        ("an HTTP answer", "HTTP/1.1 400 Bad Request\r\n\r\n"),
    ])
    func aMalformedReplyFailsTheCommandAndClosesTheConnection(name: String, reply: String) async throws {
        let bytes = Array(reply.utf8)
        // Once in one write, once a byte per write: the outcome must not depend on how the bytes arrive.
        for pieces in [[bytes], bytes.map { [$0] }] {
            try await ScriptedRedisServer.withServer(reply: pieces, closeAfterReply: false) { server in
                let connection = try await RedisConnection.connect(
                    configuration: RedisConfiguration(url: server.url),
                    logger: Logger.test("redis-tests")
                )
                await #expect {
                    _ = try await connection.send("PING")
                } throws: { error in
                    (error as? RedisError)?.kind == .protocolError
                }
                try await waitUntil("the connection closes") { connection.isClosed }
                await #expect(throws: RedisError.self) { _ = try await connection.send("PING") }
                await connection.close()
            }
        }
    }

    @Test(arguments: [
        ("a bulk string longer than memory", "$9999999999\r\nabc"),
        ("a bulk string cut short", "$10\r\nabc"),
        ("an array cut short", "*3\r\n:1\r\n"),
        ("a line without its end", "+OK"),
    ])
    func aReplyCutShortByTheServerFailsAsAClosedConnection(name: String, reply: String) async throws {
        try await ScriptedRedisServer.withServer(reply: [Array(reply.utf8)], closeAfterReply: true) { server in
            let connection = try await RedisConnection.connect(configuration: RedisConfiguration(url: server.url), logger: Logger.test("redis-tests"))
            await #expect {
                _ = try await connection.send("PING")
            } throws: { error in
                (error as? RedisError)?.kind == .connectionClosed
            }
            #expect(connection.isClosed)
            await connection.close()
        }
    }

    @Test func aReplyNobodyAskedForClosesTheConnection() async throws {
        // Two replies to one PING: the second has no command to go to.
        try await ScriptedRedisServer.withServer(reply: [Array("+PONG\r\n+EXTRA\r\n".utf8)], closeAfterReply: false) { server in
            let connection = try await RedisConnection.connect(configuration: RedisConfiguration(url: server.url), logger: Logger.test("redis-tests"))
            #expect(try await connection.send("PING") == .simpleString("PONG"))
            try await waitUntil("the connection closes") { connection.isClosed }
            await connection.close()
        }
    }
}
