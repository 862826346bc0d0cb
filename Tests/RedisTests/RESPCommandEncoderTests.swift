import NIOCore
import Testing

@testable import Redis

@Suite struct RESPCommandEncoderTests {
    private func encoded(_ arguments: [RedisArgument]) -> String {
        var buffer = ByteBuffer()
        RESPCommandEncoder().encode(arguments, into: &buffer)
        return String(buffer: buffer)
    }

    @Test func writesAnArrayOfBulkStrings() {
        #expect(encoded(["PING"]) == "*1\r\n$4\r\nPING\r\n")
        #expect(encoded(["SET", "key", "value"]) == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
    }

    @Test func everyKindOfArgumentIsItsBytes() {
        let arguments: [RedisArgument] = [
            "ECHO", RedisArgument(-42), RedisArgument(0), RedisArgument([0, 13, 10, 255]), RedisArgument(ByteBuffer(string: "é")), "",
        ]
        var buffer = ByteBuffer()
        RESPCommandEncoder().encode(arguments, into: &buffer)
        let expected =
            Array("*6\r\n$4\r\nECHO\r\n$3\r\n-42\r\n$1\r\n0\r\n$4\r\n".utf8) + [0, 13, 10, 255]
            + Array("\r\n$2\r\né\r\n$0\r\n\r\n".utf8)
        #expect(Array(buffer.readableBytesView) == expected)
    }

    @Test func binaryArgumentsAreCopiedAsIs() {
        var buffer = ByteBuffer()
        RESPCommandEncoder().encode([RedisArgument([0, 13, 10, 255])], into: &buffer)
        #expect(Array(buffer.readableBytesView) == Array("*1\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n".utf8))
    }

    @Test func aSubstringIsItsOwnBytesOnly() {
        let json = #"{"seq":1,"text":"日本"}"#
        #expect(encoded(["ECHO", RedisArgument(json.dropFirst())]) == "*2\r\n$4\r\nECHO\r\n$24\r\n\"seq\":1,\"text\":\"日本\"}\r\n")
        #expect(RedisArgument(json.dropFirst()) == RedisArgument(String(json.dropFirst())))
    }

    @Test func lengthsCountBytesNotCharacters() {
        let long = String(repeating: "日本", count: 5000)
        #expect(encoded(["SET", RedisArgument(long)]).hasPrefix("*2\r\n$3\r\nSET\r\n$30000\r\n"))
        #expect(encoded(Array(repeating: "x", count: 12)).hasPrefix("*12\r\n$1\r\nx\r\n"))
    }
}
