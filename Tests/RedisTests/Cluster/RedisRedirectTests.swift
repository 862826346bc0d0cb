import Redis
import Testing

@Suite("RedisRedirect")
struct RedisRedirectTests {
    @Test(
        arguments: [
            ("MOVED 3999 127.0.0.1:6381", RedisRedirect.Kind.moved, 3999, RedisClusterEndpoint.host("127.0.0.1"), 6381),
            ("ASK 3999 127.0.0.1:6381", .ask, 3999, .host("127.0.0.1"), 6381),
            ("MOVED 0 10.0.0.5:7000", .moved, 0, .host("10.0.0.5"), 7000),
            ("MOVED 16383 redis-2.cache.internal:6379", .moved, 16_383, .host("redis-2.cache.internal"), 6379),
            // IPv6: in brackets, and bare as Redis itself writes it (the port is after the last colon).
            ("MOVED 3999 [::1]:6381", .moved, 3999, .host("::1"), 6381),
            ("MOVED 3999 ::1:6381", .moved, 3999, .host("::1"), 6381),
            ("ASK 12182 2001:db8::7:30001", .ask, 12_182, .host("2001:db8::7"), 30_001),
            ("MOVED 12182 [2001:db8::7]:30001", .moved, 12_182, .host("2001:db8::7"), 30_001),
            // unknown-endpoint: the host of the node that answered.
            ("MOVED 3999 :6381", .moved, 3999, .sameAsReplyingNode, 6381),
            ("ASK 1 :0", .ask, 1, .sameAsReplyingNode, 0),
            // A host name is preferred but the node has none.
            ("MOVED 3999 ?:6381", .moved, 3999, .unknown, 6381),
        ]
    )
    func parses(message: String, kind: RedisRedirect.Kind, slot: Int, endpoint: RedisClusterEndpoint, port: Int) throws {
        let redirect = try #require(RedisRedirect(serverErrorMessage: message))
        #expect(redirect == RedisRedirect(kind: kind, slot: slot, endpoint: endpoint, port: port))
        #expect(RedisRedirect(RedisError.server(message)) == redirect)
        // Written back the way Redis writes it (an IPv6 host stays bare).
        #expect(redirect.description == message.replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: ""))
    }

    @Test(
        arguments: [
            "", "MOVED", "MOVED 3999", "MOVED 3999 127.0.0.1", "MOVED 3999 127.0.0.1:", "MOVED 3999 127.0.0.1:65536",
            "MOVED 3999 127.0.0.1:+1", "MOVED 3999 127.0.0.1:-1", "MOVED 3999 127.0.0.1:6a", "MOVED 3999 127.0.0.1:0x10",
            "MOVED 16384 127.0.0.1:6381", "MOVED -1 127.0.0.1:6381", "MOVED +1 127.0.0.1:6381", "MOVED x 127.0.0.1:6381",
            "MOVED  3999 127.0.0.1:6381", "MOVED 3999 127.0.0.1:6381 extra", "moved 3999 127.0.0.1:6381",
            "ERR unknown command", "WRONGTYPE Operation against a key holding the wrong kind of value", "MOVED 3999 []:6381",
            "MOVED 3999 [::1:6381", "TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN Hash slot not served",
            "MOVED 99999999999999999999 a:1", "MOVED 3999 a:99999999999999999999",
        ]
    )
    func refusesWhatIsNoRedirect(message: String) {
        #expect(RedisRedirect(serverErrorMessage: message) == nil)
    }

    @Test func onlyServerErrorsCarryRedirects() {
        #expect(RedisRedirect(RedisError.server("ASK 5 h:1"))?.kind == .ask)
        #expect(RedisRedirect(RedisError(kind: .timeout, message: "MOVED 5 h:1")) == nil)
        #expect(RedisRedirect(RedisError(kind: .decoding, message: "MOVED 5 h:1")) == nil)
        #expect(RedisRedirect(CancellationError()) == nil)
    }

    @Test func addressesResolveAgainstTheNodeThatAnswered() throws {
        let answering = RedisClusterAddress(host: "10.0.0.5", port: 7000)
        #expect(
            RedisRedirect(serverErrorMessage: "MOVED 3999 10.0.0.6:7001")?.address(answeredBy: answering)
                == RedisClusterAddress(host: "10.0.0.6", port: 7001)
        )
        #expect(
            RedisRedirect(serverErrorMessage: "MOVED 3999 :7002")?.address(answeredBy: answering) == RedisClusterAddress(host: "10.0.0.5", port: 7002)
        )
        #expect(
            RedisRedirect(serverErrorMessage: "ASK 3999 ::1:7003")?.address(answeredBy: answering) == RedisClusterAddress(host: "::1", port: 7003)
        )
        let unknown = try #require(RedisRedirect(serverErrorMessage: "MOVED 3999 ?:7004"))
        #expect(unknown.address(answeredBy: answering) == nil)
        #expect(RedisClusterAddress(host: "::1", port: 7003).description == "[::1]:7003")
    }
}
