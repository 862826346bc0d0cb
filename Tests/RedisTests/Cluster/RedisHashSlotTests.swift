import HeraldTesting
import NIOCore
import Redis
import Testing

@Suite("RedisHashSlot")
struct RedisHashSlotTests {
    @Test func crc16MatchesTheXMODEMCheckValues() {
        // The specification's own test vector, and the standard check value of CRC-16/XMODEM.
        #expect(RedisHashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(RedisHashSlot.crc16([UInt8]()) == 0)
        #expect(RedisHashSlot.crc16(Array("A".utf8)) == 0x58E5)
        // A sequence without contiguous storage takes the other path and must agree.
        #expect(RedisHashSlot.crc16(AnySequence(Array("123456789".utf8))) == 0x31C3)
    }

    @Test func crc16AgreesWithABitByBitReference() {
        var random = SeededGenerator(seed: 0x6372_6331_36)
        for _ in 0..<500 {
            let bytes = (0..<Int(random.next() % 64)).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(RedisHashSlot.crc16(bytes) == Self.referenceCRC16(bytes), "bytes \(bytes)")
            #expect(RedisHashSlot.crc16(AnySequence(bytes)) == Self.referenceCRC16(bytes), "bytes \(bytes)")
        }
    }

    /// Slots `CLUSTER KEYSLOT` of redis-server 7.0.15 gave for these keys.
    @Test(
        arguments: [
            ("foo", 12_182), ("bar", 5061), ("hello", 866), ("", 0), ("user1000", 3443),
            ("{user1000}.following", 3443), ("{user1000}.followers", 3443),
            ("foo{}{bar}", 8363), ("foo{{bar}}zap", 4015), ("{bar", 4015), ("foo{bar}{zap}", 5061),
            ("a{", 14_311), ("}{a}", 15_495), ("{}", 15_257), ("{", 4092), ("{{}}", 4092),
            ("héllo", 11_061), ("日本", 10_949), ("{日本}x", 10_949),
        ]
    )
    func slotsMatchRedis(key: String, slot: Int) {
        #expect(RedisHashSlot.hashSlot(of: key) == slot)
        #expect(RedisHashSlot.hashSlot(of: Array(key.utf8)) == slot)
        #expect(RedisHashSlot.hashSlot(of: ByteBuffer(string: key)) == slot)
        #expect(RedisHashSlot.hashSlot(of: RedisArgument(key)) == slot)
    }

    @Test func hashTagsFollowTheSpecification() {
        func tag(_ key: String) -> String? {
            RedisHashSlot.hashTag(in: Array(key.utf8)).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(tag("{user1000}.following") == "user1000")
        #expect(tag("foo{bar}{zap}") == "bar")
        #expect(tag("foo{{bar}}zap") == "{bar")
        #expect(tag("foo{}{bar}") == nil)
        #expect(tag("foo") == nil)
        #expect(tag("foo{bar") == nil)
        #expect(tag("foo}bar{") == nil)
        #expect(tag("}{x}") == "x")
        #expect(tag("{a}") == "a")
        #expect(RedisHashSlot.hashSlot(of: "{user1000}.following") == RedisHashSlot.hashSlot(of: "{user1000}.followers"))
        #expect(RedisHashSlot.hashSlot(of: "foo{}{bar}") != RedisHashSlot.hashSlot(of: "bar"))
        #expect(RedisHashSlot.hashSlot(of: "foo{{bar}}zap") == RedisHashSlot.hashSlot(of: "{bar"))
        #expect(RedisHashSlot.hashSlot(of: "foo{bar}{zap}") == RedisHashSlot.hashSlot(of: "bar"))
    }

    @Test func bytesAreHashedNotCharacters() {
        // "é" precomposed and decomposed are the same Character but different bytes, so different keys to Redis.
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(composed == decomposed)
        #expect(RedisHashSlot.hashSlot(of: composed) == Int(RedisHashSlot.crc16(Array(composed.utf8)) % 16_384))
        #expect(RedisHashSlot.hashSlot(of: decomposed) == Int(RedisHashSlot.crc16(Array(decomposed.utf8)) % 16_384))
        #expect(RedisHashSlot.hashSlot(of: composed) != RedisHashSlot.hashSlot(of: decomposed))
        // Bytes that are not UTF-8, and a tag made of them.
        let binary: [UInt8] = [0xFF, 0x7B, 0x00, 0xFE, 0x7D, 0x80]
        #expect(RedisHashSlot.hashSlot(of: binary) == Int(RedisHashSlot.crc16([0x00, 0xFE]) % 16_384))
    }

    @Test func everySlotIsInRange() {
        var random = SeededGenerator(seed: 0x736C_6F74)
        for _ in 0..<2000 {
            let key = (0..<Int(random.next() % 24)).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(RedisHashSlot.all.contains(RedisHashSlot.hashSlot(of: key)))
        }
    }

    /// CRC-16/XMODEM one bit at a time, straight from its definition.
    private static func referenceCRC16(_ bytes: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }
}
