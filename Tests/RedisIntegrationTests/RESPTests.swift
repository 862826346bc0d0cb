import HeraldTesting
import NIOCore
import Redis
import Testing

@Suite("RESP replies and arguments", .timeLimit(.minutes(1)))
struct RESPTests {
    @Test func everyReplyTypeRoundTrips() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                #expect(try await client.send("SET", "key", "value") == .simpleString("OK"))
                #expect(try await client.send("GET", "key") == .bulkString(ByteBuffer(string: "value")))
                #expect(try await client.send("INCR", "counter") == .integer(1))
                #expect(try await client.send("GET", "missing") == .null)
                #expect(try await client.send("LRANGE", "missing", 0, -1) == .array([]))

                let nested = try await client.send("EVAL", "return {1, 'a', {2, {}}, false}", 0)
                #expect(
                    nested
                        == .array([
                            .integer(1),
                            .bulkString(ByteBuffer(string: "a")),
                            .array([.integer(2), .array([])]),
                            .null,
                        ])
                )
                #expect(try await client.send("MGET", "key", "missing") == .array([.bulkString(ByteBuffer(string: "value")), .null]))
            }
        }
    }

    @Test func errorRepliesThrowRedisMessage() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                _ = try await client.send("LPUSH", "list", "x")
                do {
                    _ = try await client.send("GET", "list")
                    Issue.record("GET on a list must fail")
                } catch let error as RedisError {
                    #expect(error.isServerError(prefix: "WRONGTYPE"))
                    #expect(error.serverErrorPrefix == "WRONGTYPE")
                    #expect(error.message.hasPrefix("WRONGTYPE Operation against a key holding the wrong kind of value"))
                    #expect(error.kind == .server(error.message))
                }
                await #expect {
                    _ = try await client.send("NOPE", "x")
                } throws: { error in
                    (error as? RedisError)?.message.hasPrefix("ERR unknown command 'NOPE'") == true
                }
                // The connection stays usable after error replies.
                try await client.ping()
            }
        }
    }

    @Test func pipelineReportsErrorsPerCommand() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                let results = try await client.pipeline([["SET", "a", "1"], ["LPUSH", "a", "x"], ["INCR", "a"], ["GET", "a"]])
                #expect(results.count == 4)
                #expect(try results[0].get() == .simpleString("OK"))
                #expect(throws: RedisError.self) { try results[1].get() }
                if case .failure(let error) = results[1] {
                    #expect(error.isServerError(prefix: "WRONGTYPE"))
                }
                #expect(try results[2].get() == .integer(2))
                #expect(try results[3].get().string == "2")
                #expect(try await client.pipeline([]).isEmpty)
            }
        }
    }

    @Test func binarySafeArgumentsAndReplies() async throws {
        try await withRedisServer { server in
            try await withClient(server) { client in
                let binaryKey: [UInt8] = [0, 1, 0, 13, 10, 255]
                let binaryValue: [UInt8] = [0, 0, 36, 42, 13, 10, 0, 254, 255]
                _ = try await client.send("SET", binaryKey, binaryValue)
                #expect(try await client.send("GET", binaryKey).bytes == binaryValue)

                _ = try await client.send("SET", "", "")
                #expect(try await client.send("GET", "") == .bulkString(ByteBuffer()))
                #expect(try await client.send("STRLEN", "").int == 0)

                var generator = SystemRandomNumberGenerator()
                let large = (0..<(1 << 20)).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
                _ = try await client.send("SET", "large", ByteBuffer(bytes: large))
                #expect(try await client.send("STRLEN", "large").int == 1 << 20)
                let reply = try await client.send("GET", "large")
                #expect(reply.bytes == large)
                #expect(try reply.decode(as: [UInt8].self) == large)

                let text = "héllo\u{0}wörld ✓"
                _ = try await client.send(["SET", "text", RedisArgument(text)])
                #expect(try await client.send("GET", "text").string == text)
                _ = try await client.send("SET", "substring", text.dropFirst(2))
                #expect(try await client.send("GET", "substring").string == String(text.dropFirst(2)))
            }
        }
    }

    @Test func decodingReplies() throws {
        #expect(try RESPValue.integer(3).decode(as: Int.self) == 3)
        #expect(try RESPValue.bulkString(ByteBuffer(string: "42")).decode(as: Int.self) == 42)
        #expect(try RESPValue.simpleString("OK").decode(as: String.self) == "OK")
        #expect(try RESPValue.integer(1).decode(as: Bool.self))
        #expect(try !RESPValue.integer(0).decode(as: Bool.self))
        #expect(try RESPValue.null.decode(as: String?.self) == nil)
        #expect(try RESPValue.bulkString(ByteBuffer(string: "x")).decode(as: String?.self) == "x")
        let array = RESPValue.array([.bulkString(ByteBuffer(string: "a")), .bulkString(ByteBuffer(string: "b"))])
        let strings: [String] = try array.decode()
        #expect(strings == ["a", "b"])
        #expect(try RESPValue.array([.integer(1), .null]).decode(as: [Int?].self) == [1, nil])
        #expect(try RESPValue.bulkString(ByteBuffer(bytes: [0, 1])).decode(as: [UInt8].self) == [0, 1])
        #expect(try RESPValue.bulkString(ByteBuffer(string: "b")).decode(as: ByteBuffer.self) == ByteBuffer(string: "b"))
        #expect(try RESPValue.null.decode(as: RESPValue.self) == .null)

        #expect(throws: RedisError.self) { try RESPValue.null.decode(as: String.self) }
        #expect(throws: RedisError.server("ERR boom")) { try RESPValue.error("ERR boom").decode(as: Int.self) }
        #expect {
            try RESPValue.array([]).decode(as: Int.self)
        } throws: { error in
            (error as? RedisError)?.kind == .decoding
        }
    }

    @Test func convenienceAccessors() {
        let bulk = RESPValue.bulkString(ByteBuffer(string: "12"))
        #expect(bulk.string == "12")
        #expect(bulk.int == 12)
        #expect(bulk.bytes == Array("12".utf8))
        #expect(bulk.array == nil)
        #expect(!bulk.isNull)
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.error("ERR x").string == nil)
        #expect(RESPValue.simpleString("PONG").string == "PONG")
    }

    @Test func argumentsCompareByTheirBytes() {
        #expect(RedisArgument("1") == RedisArgument(1))
        #expect(RedisArgument([104, 105]) == "hi")
        #expect(RedisArgument(ByteBuffer(string: "hi")) == RedisArgument("hi"[...]))
        #expect(Set<RedisArgument>(["a", "a", RedisArgument([97])]).count == 1)
        #expect(RedisArgument(-12).description == "-12")
        #expect("x".redisArgument == RedisArgument("x"))
        #expect(7.redisArgument == "7")
    }
}
