import HeraldTesting
import NIOCore
import Redis
import Testing

/// Property tests of the RESP reply path (hiredis' reader behind `RESPReplyDecoder`) with seeded random input,
/// so every run sees the same cases. Fuzz/ holds the libFuzzer target for the same decoder.
@Suite(.timeLimit(.minutes(2)))
struct RESPReplyPropertyTests {
    /// Deepest nesting of arrays hiredis 0.14.1 reads (its reader keeps a fixed stack of nine tasks, the
    /// innermost for the leaf); Redis's own replies nest at most four deep (XREAD).
    static let deepestNesting = 8

    @Test func validRepliesDecodeTheSameWhereverTheReadsAreCut() async throws {
        var random = SeededGenerator(seed: 0x7265_7370)
        var cases: [(replies: [RESPValue], bytes: [UInt8], reads: [[UInt8]])] = []
        for round in 0..<200 {
            var replies = (0..<(1 + Int(random.next() % 4))).map { _ in Self.randomReply(&random) }
            if round % 50 == 49 {
                // Larger than any one read: the reader must gather it across reads.
                replies.insert(.bulkString(ByteBuffer(bytes: (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &random) })), at: 0)
            }
            let bytes = replies.flatMap { $0.encoded(nullArray: random.chance(0.5)) }
            var cuts: [[[UInt8]]] = [[bytes]]
            if bytes.count > 4096 {
                // A large bulk string: in reads of the sizes a socket delivers.
                cuts += (0..<5).map { _ in Self.randomCut(bytes, maxRead: 4096, &random) }
            } else if round < 40 && bytes.count < 600 {
                // Every place a read can end, for the smaller streams, and a byte at a time.
                cuts += (1..<bytes.count).map { [Array(bytes[..<$0]), Array(bytes[$0...])] } + [bytes.map { [$0] }]
            } else {
                cuts += (0..<20).map { _ in Self.randomCut(bytes, &random) } + [bytes.map { [$0] }]
            }
            cases += cuts.map { (replies, bytes, $0) }
        }
        let outcomes = try await ReplyDecoderDriver.withDriver { try await $0.decode(batch: cases.map(\.reads)) }
        for (item, outcome) in zip(cases, outcomes) {
            #expect(outcome == ReplyDecoding(replies: item.replies), "stream \(Self.show(item.bytes)) in \(item.reads.count) reads")
        }
    }

    @Test func aTruncatedStreamYieldsTheWholeRepliesAndWaitsForTheRest() async throws {
        var random = SeededGenerator(seed: 0x7472_756E_63)
        try await ReplyDecoderDriver.withDriver { driver in
            for _ in 0..<60 {
                let replies = (0..<(1 + Int(random.next() % 3))).map { _ in Self.randomReply(&random, maxBulk: 40) }
                let encoded = replies.map { $0.encoded() }
                let bytes = encoded.flatMap { $0 }
                var ends: [Int] = []
                var offset = 0
                for reply in encoded {
                    offset += reply.count
                    ends.append(offset)
                }
                let prefixes = (0..<bytes.count).map { [Array(bytes[..<$0])] }
                for (length, outcome) in zip(0..., try await driver.decode(batch: prefixes)) {
                    let complete = ends.filter { $0 <= length }.count
                    #expect(outcome == ReplyDecoding(replies: Array(replies[..<complete])), "prefix \(Self.show(Array(bytes[..<length])))")
                }
            }
        }
    }

    @Test func corruptedStreamsFailWithAProtocolErrorAndDecodeAlikeWhateverTheCut() async throws {
        var random = SeededGenerator(seed: 0x636F_7272_7570)
        let streams = (0..<3_000).map { _ in
            var bytes = (0..<(1 + Int(random.next() % 3))).flatMap { _ in Self.randomReply(&random, maxBulk: 40).encoded() }
            for _ in 0...random.next() % 3 { Self.mutate(&bytes, &random) }
            return bytes
        }
        let cuts = streams.map { Self.randomCut($0, &random) }
        try await ReplyDecoderDriver.withDriver { driver in
            let wholes = try await driver.decode(batch: streams.map { [$0] })
            let cut = try await driver.decode(batch: cuts)
            let bytewise = try await driver.decode(batch: streams.map { $0.map { [$0] } })
            // Whatever came out is a reply that Redis could have sent: written back, it reads the same.
            let again = try await driver.decode(batch: wholes.map { [$0.replies.flatMap { $0.encoded() }] })
            var failures = 0
            for (index, whole) in wholes.enumerated() {
                let bytes = streams[index]
                #expect(whole.otherError == nil, "\(whole.otherError ?? "") for \(Self.show(bytes))")
                if let error = whole.error {
                    failures += 1
                    #expect(error.kind == .protocolError)
                    #expect(error.message.hasPrefix("invalid reply from Redis: ") && error.message.count > 26)
                }
                #expect(cut[index] == whole, "stream \(Self.show(bytes))")
                #expect(bytewise[index] == whole, "stream \(Self.show(bytes))")
                #expect(again[index] == ReplyDecoding(replies: whole.replies))
            }
            #expect(failures > 100)
        }
    }

    @Test func randomBytesNeverCrashTheReader() async throws {
        var random = SeededGenerator(seed: 0x6E6F_6973_65)
        try await ReplyDecoderDriver.withDriver { driver in
            for _ in 0..<20 {
                let batch = (0..<100).map { _ in
                    let bytes = (0..<Int(random.next() % 64)).map { _ in
                        random.chance(0.3) ? random.element(of: Array("+-:$*\r\n0123456789".utf8)) : UInt8.random(in: 0...255, using: &random)
                    }
                    return Self.randomCut(bytes, &random)
                }
                for outcome in try await driver.decode(batch: batch) {
                    #expect(outcome.otherError == nil)
                    #expect(outcome.error.map { $0.kind == .protocolError } ?? true)
                }
            }
        }
    }

    // MARK: Hostile replies

    /// What the reader does with a reply it cannot finish yet.
    enum Verdict: Sendable {
        case waits
        case fails
        /// hiredis reserves 8 bytes per announced element when an array's header arrives (up to 2^31 - 1 elements:
        /// 16 GB of address space, untouched until elements arrive); where the system refuses that reservation, the
        /// reply fails as out of memory instead. (A billion is not tried here: freeing the unfinished reply walks
        /// every slot, seconds of page faults.)
        case waitsOrFails
    }

    @Test(arguments: [
        ("a bulk string longer than memory", "$9999999999\r\nabc", Verdict.waits),
        ("a bulk string longer than Int64", "$99999999999999999999999\r\n", .fails),
        ("an array longer than Int32", "*2147483648\r\n", .fails),
        ("an array longer than Int64", "*99999999999999999999999\r\n", .fails),
        ("a million elements", "*1000000\r\n:1\r\n", .waitsOrFails),
        // Found by the fuzzer with 854,775,807 elements: hiredis frees the unfinished array slot by slot.
        ("a million elements, then a bad length", "*1000000\r\n:1\r\n$-5\r\n", .fails),
        ("a bulk string whose end has not come", "$10\r\nabc", .waits),
        ("a line without its end", "+OK", .waits),
        ("a lone carriage return", "+OK\r", .waits),
    ])
    func hugeOrUnfinishedLengthsWaitOrFailClearly(name: String, reply: String, verdict: Verdict) async throws {
        try await ReplyDecoderDriver.withDriver { driver in
            for outcome in try await driver.decode(batch: [[Array(reply.utf8)], Array(reply.utf8).map { [$0] }]) {
                #expect(outcome.replies.isEmpty, "\(name) produced \(outcome.replies)")
                #expect(outcome.otherError == nil)
                switch verdict {
                case .waits: #expect(outcome.error == nil, "\(name): \(String(describing: outcome.error))")
                case .fails: #expect(outcome.error?.kind == .protocolError, "\(name): \(outcome)")
                case .waitsOrFails: #expect(outcome.error.map { $0.kind == .protocolError } ?? true, "\(name): \(outcome)")
                }
            }
        }
    }

    @Test(arguments: [
        ("an unknown type byte", "?what\r\n", "type byte"),
        ("a RESP3 map", "%1\r\n+a\r\n+b\r\n", "type byte"),
        ("a RESP3 null", "_\r\n", "type byte"),
        ("a text line", "hello world\r\n", "type byte"),
        ("a NUL byte", "\u{0}\r\n", "type byte"),
        ("a bad byte after a good reply", "+OK\r\n!\r\n", "type byte"),
    ])
    func badTypeBytesFailWithAProtocolError(name: String, reply: String, mention: String) async throws {
        try await ReplyDecoderDriver.withDriver { driver in
            let outcome = try await driver.decode([Array(reply.utf8)])
            let error = try #require(outcome.error, "\(name) was not refused")
            #expect(error.kind == .protocolError)
            #expect(error.message.contains(mention), "\(error.message)")
            #expect(outcome.replies == (reply.hasPrefix("+OK") ? [.simpleString("OK")] : []))
        }
    }

    @Test func minusOneIsNullAndOtherNegativeLengthsAreRefused() async throws {
        try await ReplyDecoderDriver.withDriver { driver in
            let nulls = try await driver.decode([Array("$-1\r\n*-1\r\n:1\r\n".utf8)])
            #expect(nulls == ReplyDecoding(replies: [.null, .null, .integer(1)]))
            for reply in ["$-5\r\n", "$-2\r\n", "*-3\r\n", "*-9223372036854775808\r\n"] {
                let outcome = try await driver.decode([Array(reply.utf8)])
                #expect(outcome.replies.isEmpty)
                #expect(outcome.error?.kind == .protocolError, "\(reply.debugDescription): \(outcome)")
                #expect(outcome.error?.message.contains("length out of range") == true, "\(outcome)")
            }
        }
    }

    @Test func integersAtTheEdgesOfInt64() async throws {
        try await ReplyDecoderDriver.withDriver { driver in
            let outcome = try await driver.decode([Array(":9223372036854775807\r\n:-9223372036854775808\r\n:0\r\n:-12\r\n".utf8)])
            #expect(outcome == ReplyDecoding(replies: [.integer(.max), .integer(.min), .integer(0), .integer(-12)]))
            for reply in [":9223372036854775808\r\n", ":-9223372036854775809\r\n", ":12a\r\n", ":\r\n", ":-0\r\n"] {
                let refused = try await driver.decode([Array(reply.utf8)])
                #expect(refused.replies.isEmpty)
                #expect(refused.error?.kind == .protocolError, "\(reply.debugDescription): \(refused)")
            }
        }
    }

    @Test func nestingDeeperThanTheReaderSupportsFailsClearly() async throws {
        try await ReplyDecoderDriver.withDriver { driver in
            func nested(_ depth: Int) -> [UInt8] {
                Array((String(repeating: "*1\r\n", count: depth) + ":1\r\n").utf8)
            }
            func value(_ depth: Int) -> RESPValue {
                (0..<depth).reduce(RESPValue.integer(1)) { inner, _ in .array([inner]) }
            }
            let deepest = try await driver.decode([nested(Self.deepestNesting)])
            #expect(deepest == ReplyDecoding(replies: [value(Self.deepestNesting)]))
            for depth in [Self.deepestNesting + 1, 100, 100_000] {
                for reads in [[nested(depth)], nested(depth).map { [$0] }] {
                    let outcome = try await driver.decode(reads)
                    let error = try #require(outcome.error, "\(depth) levels were not refused")
                    #expect(error.kind == .protocolError)
                    #expect(error.message.contains("nested"), "\(error.message)")
                    #expect(outcome.replies.isEmpty)
                }
            }
        }
    }

    // MARK: Generators

    /// A reply Redis could send, with bulk strings of up to `maxBulk` bytes.
    static func randomReply(_ random: inout SeededGenerator, depth: Int = 1, maxBulk: Int = 300) -> RESPValue {
        switch random.next() % (depth < deepestNesting ? 7 : 5) {
        case 0: return .simpleString(randomLine(&random))
        case 1: return .error(randomLine(&random))
        case 2: return .integer(random.element(of: [0, 1, -1, .max, .min, Int(truncatingIfNeeded: random.next())]))
        case 3: return .null
        case 4:
            let count = Int(random.next() % UInt64(maxBulk + 1))
            let bytes = (0..<count).map { _ in
                random.chance(0.1) ? random.element(of: Array("\r\n$*:+-".utf8)) : UInt8.random(in: 0...255, using: &random)
            }
            return .bulkString(ByteBuffer(bytes: bytes))
        default:
            return .array((0..<Int(random.next() % 5)).map { _ in randomReply(&random, depth: depth + 1, maxBulk: maxBulk) })
        }
    }

    /// A status or error line: any text without a line end (Redis never puts one in them).
    static func randomLine(_ random: inout SeededGenerator) -> String {
        let scalars: [Unicode.Scalar] = Array("OK ERR WRONGTYPE é中😀:$*+-\t\u{0}".unicodeScalars)
        return String(String.UnicodeScalarView((0..<Int(random.next() % 30)).map { _ in random.element(of: scalars) }))
    }

    /// `bytes` cut into reads of random length below `maxRead` (some empty).
    static func randomCut(_ bytes: [UInt8], maxRead: Int = 12, _ random: inout SeededGenerator) -> [[UInt8]] {
        var reads: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, Int(random.next() % UInt64(maxRead)))
            reads.append(Array(bytes[offset..<(offset + length)]))
            offset += length
        }
        return reads.isEmpty ? [[]] : reads
    }

    static func mutate(_ bytes: inout [UInt8], _ random: inout SeededGenerator) {
        let tokens: [[UInt8]] = [
            Array("\r\n".utf8), Array("$".utf8), Array("*".utf8), Array(":".utf8), Array("-".utf8), Array("+".utf8),
            Array("$-1\r\n".utf8), Array("*-1\r\n".utf8), Array("$9999999999\r\n".utf8), Array("*3\r\n".utf8),
            Array("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n".utf8), Array("%2\r\n".utf8), Array("x".utf8), [0], [0xFF],
        ]
        let position = Int(random.next() % UInt64(bytes.count + 1))
        switch random.next() % 5 {
        case 0 where !bytes.isEmpty:
            bytes[min(position, bytes.count - 1)] = UInt8.random(in: 0...255, using: &random)
        case 1 where !bytes.isEmpty:
            let end = min(bytes.count, position + 1 + Int(random.next() % 6))
            bytes.removeSubrange(min(position, end)..<end)
        case 2:
            bytes.insert(contentsOf: random.element(of: tokens), at: position)
        case 3 where !bytes.isEmpty:
            // A length digit changed: the reader expects more, or fewer, bytes than follow.
            if let digit = bytes.indices.filter({ (0x30...0x39).contains(bytes[$0]) }).randomElement(using: &random) {
                bytes[digit] = UInt8.random(in: 0x30...0x39, using: &random)
            }
        default:
            bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
        }
    }

    static func show(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
        return bytes.count > 300 ? "\(text)… (\(bytes.count) bytes)" : text
    }
}
