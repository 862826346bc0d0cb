@testable import Redis
import Testing

/// The scanner that finds where a reply ends, fed the way reads arrive.
@Suite struct RESPReplyScannerTests {
    /// Scans `bytes` as if they arrived in pieces ending at `cuts`, returning the progress after each piece.
    private func scan(_ bytes: [UInt8], cuts: [Int]) throws -> [RESPReplyScanner.Progress] {
        var scanner = RESPReplyScanner()
        return try (cuts + [bytes.count]).map { end in
            try Array(bytes[..<end]).withUnsafeBytes { try scanner.scan($0) }
        }
    }

    @Test func findsTheEndOfAReplyWhateverThePiecesItCameIn() throws {
        // XREAD's shape: streams, entries, an id and its fields; then the start of the next reply.
        let reply = Array("*1\r\n*2\r\n$4\r\ns:p0\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$5\r\nevent\r\n$2\r\n{}\r\n".utf8)
        let stream = reply + Array("+OK\r\n".utf8)
        for cut in 0..<reply.count {
            let progress = try scan(stream, cuts: [cut])
            #expect(progress.first == .needMoreData)
            #expect(progress.last == .complete(length: reply.count))
        }
        // A byte at a time: complete exactly when its last byte has come.
        let bytewise = try scan(stream, cuts: Array(1..<stream.count))
        #expect(bytewise.firstIndex(of: .complete(length: reply.count)) == reply.count - 1)
    }

    @Test func countsTheBytesOfTheBulkStringsItPassed() throws {
        var scanner = RESPReplyScanner()
        let bytes = Array("*3\r\n$5\r\nhello\r\n$-1\r\n$0\r\n\r\n".utf8)
        #expect(try bytes.withUnsafeBytes { try scanner.scan($0) } == .complete(length: bytes.count))
        #expect(scanner.bulkBytes == 5)
    }

    @Test func emptyAndNullArraysAreWholeReplies() throws {
        for text in ["*0\r\n", "*-1\r\n", "$-1\r\n", ":-12\r\n", "-ERR no\r\n"] {
            #expect(try scan(Array(text.utf8), cuts: []) == [.complete(length: text.utf8.count)])
        }
    }

    @Test(arguments: [
        ("$3\r\nabcd\r\n", "not followed by CR LF"),
        ("?\r\n", "unknown type byte"),
        ("*-2\r\n", "length out of range"),
        ("$x\r\n", "invalid bulk string length"),
        (":007\r\n", "invalid integer"),
        (String(repeating: "*1\r\n", count: 9) + ":1\r\n", "nested deeper"),
    ])
    func malformedRepliesFailAsProtocolErrors(text: String, mention: String) {
        var scanner = RESPReplyScanner()
        #expect {
            try Array(text.utf8).withUnsafeBytes { _ = try scanner.scan($0) }
        } throws: { error in
            (error as? RedisError)?.kind == .protocolError && "\(error)".contains(mention)
        }
    }

    @Test func integersAreReadAsRedisWritesThem() {
        func integer(_ text: String) -> Int? { Array(text.utf8).withUnsafeBytes { RESPReplyScanner.integer($0) } }
        #expect(integer("0") == 0)
        #expect(integer("-1") == -1)
        #expect(integer("9223372036854775807") == .max)
        #expect(integer("-9223372036854775808") == .min)
        for refused in ["", "-", "-0", "01", "+1", "1 ", "9223372036854775808", "-9223372036854775809"] {
            #expect(integer(refused) == nil, "\(refused.debugDescription)")
        }
    }
}
