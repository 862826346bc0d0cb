import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

/// Property tests of the decoder the gateway runs on every text frame (`ClientMessage.decode`), with seeded
/// random inputs so every run sees the same cases. Fuzz/ holds the libFuzzer target for the same decoder;
/// these run in every `swift test`.
@Suite(.timeLimit(.minutes(2)))
struct ClientMessagePropertyTests {
    private func decode(_ bytes: some Collection<UInt8>) -> Result<ClientMessage, ProtocolError> {
        do {
            return .success(try ClientMessage.decode(bytes))
        } catch {
            return .failure(error)
        }
    }

    @Test func randomValidMessagesRoundTripThroughTheirEncoding() async throws {
        var random = SeededGenerator(seed: 0x6865_7261_6C64)
        for iteration in 0..<2_000 {
            // Long CPU-bound loops share the test process's two pool threads with every other suite: let them run.
            if iteration % 100 == 0 { await Task.yield() }
            let message = Self.randomMessage(&random)
            let decoded = decode(Array(message.encoded().utf8))
            #expect(try decoded.get() == message)
        }
    }

    @Test func handWrittenFramesDecodeWhateverTheLayout() async throws {
        // Any key order, any whitespace, escapes in any form, extra fields of any shape, explicit nulls for
        // absent optional fields: all of it is valid JSON a client may send.
        var random = SeededGenerator(seed: 0x6C61_796F_7574)
        for iteration in 0..<2_000 {
            if iteration % 100 == 0 { await Task.yield() }
            let message = Self.randomMessage(&random)
            let text = Self.handWritten(message, &random)
            let decoded = decode(Array(text.utf8))
            #expect(try decoded.get() == message, "frame: \(text)")
        }
    }

    @Test func mutatedFramesAreRefusedWithTheDocumentedCodeOrDecodeConsistently() async throws {
        var random = SeededGenerator(seed: 0x6D75_7461_7465)
        var refused = 0
        for iteration in 0..<20_000 {
            if iteration % 100 == 0 { await Task.yield() }
            var bytes = Array(Self.handWritten(Self.randomMessage(&random), &random).utf8)
            for _ in 0...random.next() % 4 { Self.mutate(&bytes, &random) }
            switch decode(bytes) {
            case .success(let message):
                // Whatever was accepted is a well-formed message that survives its own encoding unchanged.
                #expect(try decode(Array(message.encoded().utf8)).get() == message, "frame: \(Self.show(bytes))")
            case .failure(let error):
                refused += 1
                #expect(error.code == .badRequest || error.code == .unknownType, "\(error) for \(Self.show(bytes))")
                #expect(!error.message.isEmpty)
            }
        }
        // The mutations are mostly fatal to JSON, so the refusal path is what this test exercises.
        #expect(refused > 10_000)
    }

    @Test func randomBytesAreRefusedAsBadRequest() async {
        var random = SeededGenerator(seed: 0x6279_7465_73)
        for iteration in 0..<5_000 {
            if iteration % 100 == 0 { await Task.yield() }
            let bytes = (0..<Int(random.next() % 200)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if case .failure(let error) = decode(bytes) {
                #expect(error.code == .badRequest, "\(error) for \(Self.show(bytes))")
            } else {
                Issue.record("random bytes were accepted: \(Self.show(bytes))")
            }
        }
    }

    // MARK: Nesting

    /// The gateway decodes on the concurrency pool, whose threads have a bounded stack: nesting a client can send
    /// in one frame must not recurse past it. Foundation's parser refuses documents nested deeper than 512 levels,
    /// which also bounds the recursion of `JSONValue`'s decoding.
    @Test(arguments: [
        ("arrays", "[", "]"),
        ("objects", #"{"k":"#, "}"),
        ("mixed", #"[{"k":"#, "}]"),
    ])
    func nestingFarBeyondTheParserLimitIsRefusedOnAPoolThread(shape: String, open: String, close: String) async {
        for depth in [513, 100_000] {
            let nested = String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)
            let unterminated = String(repeating: open, count: depth)
            for frame in [#"{"type":"ping","x":"# + nested + "}", nested, #"{"type":"ping","x":"# + unterminated] {
                let result = await Task.detached { self.decode(Array(frame.utf8)) }.value
                guard case .failure(let error) = result else {
                    Issue.record("\(shape) nested \(depth) deep were accepted")
                    continue
                }
                #expect(error.code == .badRequest)
            }
        }
    }

    @Test(arguments: [("arrays", "[", "]"), ("objects", #"{"k":"#, "}")])
    func nestingWithinTheParserLimitDecodesOnAPoolThread(shape: String, open: String, close: String) async throws {
        // 500 levels inside the frame's own object: the deepest a frame gets before the parser refuses it.
        let nested = String(repeating: open, count: 500) + "null" + String(repeating: close, count: 500)
        let frame = #"{"type":"ping","x":"# + nested + "}"
        let result = await Task.detached { self.decode(Array(frame.utf8)) }.value
        #expect(try result.get() == .ping)
    }

    // MARK: Numbers and text

    @Test(arguments: [
        ("1e308", false), ("1e309", false), ("-1e309", false), ("-0", true), ("0e0", true), ("9007199254740992", true),
        ("9007199254740993", true), ("18446744073709551616", false), ("1e-400", false), ("0.9999999999999999999", true),
        ("-1", false), ("12.5", false), ("1E2", true), ("\"3\"", false), ("[3]", false), ("{}", false),
    ])
    func extremeSequenceNumbersAreRefusedOrExact(literal: String, accepted: Bool) {
        let frame = #"{"type":"resume","thread_id":"t","after_seq":"# + literal + "}"
        switch decode(Array(frame.utf8)) {
        case .success(.resume(let resume)):
            #expect(accepted, "after_seq \(literal) was accepted as \(resume.afterSeq)")
            #expect((0...9_007_199_254_740_992).contains(resume.afterSeq))
        case .success(let other):
            Issue.record("decoded as \(other)")
        case .failure(let error):
            #expect(!accepted, "after_seq \(literal) was refused: \(error)")
            #expect(error.code == .badRequest)
        }
    }

    @Test func escapedSurrogatesAndControlCharactersDecodeOrAreRefused() throws {
        #expect(
            try decode(Array(#"{"type":"user_message","content":"\ud83d\ude00\u0000\u001f"}"#.utf8)).get()
                == .userMessage(.init(content: "😀\u{0}\u{1F}"))
        )
        // Raw control characters are not JSON; lone surrogates cannot become a Swift string. Both are refused,
        // or the lone surrogate is replaced: either way no crash and nothing malformed gets through.
        for frame in [
            "{\"type\":\"user_message\",\"content\":\"a\u{1}b\"}",
            #"{"type":"user_message","content":"\ud800"}"#,
            #"{"type":"user_message","content":"\udc00x"}"#,
            #"{"type":"user_message","content":"\ud800\u0041"}"#,
            #"{"type":"user_message","content":"\u12"}"#,
            #"{"type":"user_message","content":"\x41"}"#,
        ] {
            switch decode(Array(frame.utf8)) {
            case .success(.userMessage(let message)):
                #expect(try decode(Array(ClientMessage.userMessage(message).encoded().utf8)).get() == .userMessage(message))
            case .success(let other):
                Issue.record("decoded as \(other)")
            case .failure(let error):
                #expect(error.code == .badRequest)
            }
        }
    }

    @Test func aFrameOfTheLargestAllowedSizeWithManyFieldsDecodes() throws {
        // 64 KiB (the gateway's default frame limit) of small extra fields, and the same of one long string.
        var fields: [String] = []
        var size = 0
        var index = 0
        while size < 65_000 {
            let field = "\"f\(index)\":[\(index),{\"g\":null}]"
            fields.append(field)
            size += field.utf8.count + 1
            index += 1
        }
        let many = #"{"type":"ping","# + fields.joined(separator: ",") + "}"
        #expect(try decode(Array(many.utf8)).get() == .ping)
        let content = String(repeating: "é", count: 32_000)
        let long = #"{"type":"user_message","content":""# + content + "\"}"
        #expect(try decode(Array(long.utf8)).get() == .userMessage(.init(content: content)))
    }

    // MARK: Generators

    /// Text with what tends to break encoders: quotes, backslashes, control characters, non-BMP scalars,
    /// combining marks, line and paragraph separators, byte-order marks.
    static func randomText(_ random: inout SeededGenerator, maxLength: Int = 40) -> String {
        let pools: [[Unicode.Scalar]] = [
            Array("abcXYZ019 _-./:?*+()".unicodeScalars),
            ["\"", "\\", "/", "\u{7F}"],
            (0x00...0x1F).map { Unicode.Scalar(UInt8($0)) },
            ["é", "中", "ß", "\u{301}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFD}", "\u{FFFF}"],
            ["😀", "\u{10FFFF}", "\u{1F3F3}", "\u{E0067}"],
        ]
        let length = Int(random.next() % UInt64(maxLength + 1))
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            scalars.append(random.element(of: random.element(of: pools)))
        }
        return String(scalars)
    }

    static func randomID(_ random: inout SeededGenerator) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        return String((0..<(1 + Int(random.next() % 64))).map { _ in random.element(of: alphabet) })
    }

    static func randomMessage(_ random: inout SeededGenerator) -> ClientMessage {
        switch random.next() % 5 {
        case 0:
            return .userMessage(
                .init(
                    content: randomText(&random, maxLength: 200),
                    threadID: random.chance(0.5) ? randomID(&random) : nil,
                    clientMessageID: random.chance(0.5) ? randomText(&random) : nil
                )
            )
        case 1:
            return .cancelRun(runID: randomID(&random))
        case 2:
            let afterSeq: Int =
                switch random.next() % 4 {
                case 0: 0
                case 1: Int(random.next() % 1000)
                case 2: 9_007_199_254_740_992
                default: Int(random.next() % 9_007_199_254_740_992)
                }
            return .resume(.init(threadID: randomID(&random), afterSeq: afterSeq, epoch: random.chance(0.5) ? randomID(&random) : nil))
        case 3:
            let approve = random.chance(0.5)
            let arguments: [String: JSONValue]? =
                approve && random.chance(0.5) ? ["text": .string(randomText(&random)), "count": .number(Double(random.next() % 100))] : nil
            return .approvalResponse(
                .init(
                    approvalID: randomID(&random),
                    decision: approve ? .approve : .deny,
                    arguments: arguments,
                    reason: random.chance(0.5) ? randomText(&random) : nil
                )
            )
        default:
            return .ping
        }
    }

    static func whitespace(_ random: inout SeededGenerator) -> String {
        String((0..<Int(random.next() % 3)).map { _ in random.element(of: [" ", "\t", "\n", "\r"] as [Character]) })
    }

    /// A JSON string literal, each scalar escaped or not at random (`\uXXXX`, surrogate pairs, short escapes).
    static func literal(_ text: String, _ random: inout SeededGenerator) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            let mustEscape = scalar.value < 0x20 || scalar == "\"" || scalar == "\\"
            if !mustEscape && random.chance(0.8) {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\"" where random.chance(0.5): out += "\\\""
            case "\\" where random.chance(0.5): out += "\\\\"
            case "\n" where random.chance(0.5): out += "\\n"
            case "\t" where random.chance(0.5): out += "\\t"
            case "/" where random.chance(0.5): out += "\\/"
            default:
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16, uppercase: random.chance(0.5))
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
            }
        }
        return out + "\""
    }

    static func randomJSON(_ random: inout SeededGenerator, depth: Int = 0) -> String {
        switch random.next() % (depth < 3 ? 7 : 5) {
        case 0: return "null"
        case 1: return random.chance(0.5) ? "true" : "false"
        case 2: return random.element(of: ["0", "-1", "3.25", "1e300", "-2.5E-10", "123456789012345678901234567890"])
        case 3: return literal(randomText(&random), &random)
        case 4: return "\(random.next() % 1000)"
        case 5: return "[" + (0..<Int(random.next() % 4)).map { _ in randomJSON(&random, depth: depth + 1) }.joined(separator: ",") + "]"
        default:
            let members = (0..<Int(random.next() % 4)).map { _ in
                literal(randomText(&random, maxLength: 8), &random) + ":" + randomJSON(&random, depth: depth + 1)
            }
            return "{" + members.joined(separator: ",") + "}"
        }
    }

    /// `message` as a client might write it by hand: fields shuffled, spaced, escaped and padded with extra fields.
    static func handWritten(_ message: ClientMessage, _ random: inout SeededGenerator) -> String {
        var members: [(String, String)] = [("type", literal(message.typeName, &random))]
        func optional(_ name: String, _ value: String?, _ random: inout SeededGenerator) {
            if let value {
                members.append((name, literal(value, &random)))
            } else if random.chance(0.3) {
                members.append((name, "null"))
            }
        }
        switch message {
        case .userMessage(let user):
            members.append(("content", literal(user.content, &random)))
            optional("thread_id", user.threadID, &random)
            optional("client_msg_id", user.clientMessageID, &random)
        case .cancelRun(let runID):
            members.append(("run_id", literal(runID, &random)))
        case .resume(let resume):
            members.append(("thread_id", literal(resume.threadID, &random)))
            members.append(("after_seq", random.element(of: ["\(resume.afterSeq)", "\(resume.afterSeq).0", "\(resume.afterSeq)e0"])))
            optional("epoch", resume.epoch, &random)
        case .approvalResponse(let response):
            members.append(("approval_id", literal(response.approvalID, &random)))
            members.append(("decision", literal(response.decision.rawValue, &random)))
            if let arguments = response.arguments { members.append(("arguments", JSONValue.object(arguments).jsonString())) }
            optional("reason", response.reason, &random)
        case .ping:
            break
        }
        for index in 0..<Int(random.next() % 3) {
            members.append(("extra_\(index)", randomJSON(&random)))
        }
        members.shuffle(using: &random)
        let body = members.map { name, value in
            whitespace(&random) + literal(name, &random) + whitespace(&random) + ":" + whitespace(&random) + value + whitespace(&random)
        }
        return whitespace(&random) + "{" + body.joined(separator: ",") + "}" + whitespace(&random)
    }

    /// One random edit of the kind that turns a valid frame into a hostile one.
    static func mutate(_ bytes: inout [UInt8], _ random: inout SeededGenerator) {
        let tokens: [[UInt8]] = [
            Array("{".utf8), Array("}".utf8), Array("[".utf8), Array("]".utf8), Array("\"".utf8), Array("\\".utf8),
            Array(":".utf8), Array(",".utf8), Array("null".utf8), Array("1e999".utf8), Array("-".utf8), Array("\\u".utf8),
            Array("\\ud800".utf8), [0], [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        ]
        let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1))
        switch random.next() % 6 {
        case 0 where !bytes.isEmpty:
            bytes[min(position, bytes.count - 1)] = UInt8.random(in: 0...255, using: &random)
        case 1 where !bytes.isEmpty:
            let end = min(bytes.count, position + 1 + Int(random.next() % 8))
            bytes.removeSubrange(min(position, end)..<end)
        case 2:
            bytes.insert(contentsOf: random.element(of: tokens), at: position)
        case 3 where !bytes.isEmpty:
            let start = min(position, bytes.count - 1)
            let slice = bytes[start..<min(bytes.count, start + 1 + Int(random.next() % 16))]
            bytes.insert(contentsOf: slice, at: Int(random.next() % UInt64(bytes.count + 1)))
        case 4:
            bytes.removeSubrange(position...)
        default:
            bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
        }
    }

    static func show(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).debugDescription
    }
}
