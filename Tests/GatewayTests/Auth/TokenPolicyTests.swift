import Foundation
import HeraldProtocol
import NIOCore
import Testing

@testable import Gateway

@Suite("Token policy")
struct TokenPolicyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = TokenPolicy(
        issuer: "https://id.example",
        audiences: ["herald", "chat"],
        leeway: .seconds(30),
        userClaim: "sub",
        requiresExpiry: true
    )

    private func claims(_ changes: [String: JSONValue?] = [:]) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [
            "sub": .string("alice"), "iss": .string("https://id.example"), "aud": .string("herald"),
            "exp": .number(now.timeIntervalSince1970 + 60),
        ]
        for (name, value) in changes { claims[name] = value }
        return claims
    }

    private func refusal(_ claims: [String: JSONValue], policy: TokenPolicy? = nil) -> String? {
        do {
            _ = try (policy ?? self.policy).identity(from: claims, now: now)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("a token with the right issuer, an audience of ours and a live expiry gives its user, closed at exp + leeway")
    func accepted() throws {
        let identity = try policy.identity(from: claims(["aud": .array([.string("other"), .string("chat")])]), now: now)
        #expect(identity.userID == "alice")
        #expect(identity.guestToken == nil)
        #expect(identity.expiresAt == now.addingTimeInterval(90))
    }

    @Test("expiry and not-before are checked with the leeway, on both sides of it")
    func times() {
        let t = now.timeIntervalSince1970
        #expect(refusal(claims(["exp": .number(t - 29)])) == nil)
        #expect(refusal(claims(["exp": .number(t - 31)])) == "token expired")
        #expect(refusal(claims(["nbf": .number(t + 29)])) == nil)
        #expect(refusal(claims(["nbf": .number(t + 31)])) == "token not valid yet")
        #expect(refusal(claims(["exp": nil])) == "the token has no expiry (exp)")
        #expect(refusal(claims(["exp": .string("tomorrow")])) == "invalid token: exp is not a number")
        #expect(refusal(claims(["exp": nil]), policy: TokenPolicy()) == nil)
    }

    @Test("a wrong or missing issuer or audience is refused")
    func issuerAndAudience() {
        #expect(refusal(claims(["iss": .string("https://evil.example")])) == "the token's issuer is not the one this gateway trusts")
        #expect(refusal(claims(["iss": nil])) == "the token's issuer is not the one this gateway trusts")
        #expect(refusal(claims(["aud": .string("another-app")])) == "the token is not meant for this gateway (aud)")
        #expect(refusal(claims(["aud": .array([.string("x")])])) == "the token is not meant for this gateway (aud)")
        #expect(refusal(claims(["aud": nil])) == "the token is not meant for this gateway (aud)")
    }

    @Test("the user id comes from the configured claim: a string or a whole number, printable")
    func userClaim() throws {
        var byEmail = policy
        byEmail.userClaim = "email"
        #expect(try byEmail.identity(from: claims(["email": .string("a@example.com")]), now: now).userID == "a@example.com")
        #expect(refusal(claims(), policy: byEmail) == "the token has no user id in 'email'")
        var byNumber = policy
        byNumber.userClaim = "uid"
        #expect(try byNumber.identity(from: claims(["uid": .number(4711)]), now: now).userID == "4711")
        #expect(refusal(claims(["uid": .number(1.5)]), policy: byNumber) == "the token has no user id in 'uid'")
        #expect(refusal(claims(["sub": .string("has space")])) == "the token's user id ('sub') is not a usable user id")
        #expect(refusal(claims(["sub": .string("")])) == "the token's user id ('sub') is not a usable user id")
    }
}

@Suite("Token header")
struct TokenHeaderTests {
    private func token(header: String) -> String {
        Data(header.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_") + ".e30.sig"
    }

    @Test("the algorithm and key id are read before any key is touched; malformed headers are refused")
    func header() throws {
        #expect(try TokenHeader(token: token(header: #"{"alg":"RS256","kid":"k1","typ":"JWT"}"#)) == TokenHeader(algorithm: "RS256", keyID: "k1"))
        #expect(try TokenHeader(token: token(header: #"{"alg":"none"}"#)) == TokenHeader(algorithm: "none"))
        let refused: [(String, String)] = [
            ("not.a.jwt", "invalid token"),
            ("two.parts", "invalid token"),
            (token(header: #"{"kid":"k1"}"#), "the token names no algorithm"),
            (token(header: #"{"alg":"ES256","crit":["exp"]}"#), "the token has critical header extensions"),
            (token(header: "[1]"), "invalid token"),
            (token(header: #"{"alg":"RS256"}"#) + ".extra", "invalid token"),
        ]
        for (text, message) in refused {
            #expect(throws: UpgradeRefusal.unauthorized(message)) { try TokenHeader(token: text) }
        }
    }
}

@Suite("JWKS refresh schedule")
struct JWKSRefreshScheduleTests {
    @Test("fetch at once, then on the interval; after failures back off from 1 s up to the interval")
    func interval() {
        let start = ContinuousClock.now
        var schedule = JWKSRefreshSchedule(interval: .seconds(300), minimumGap: .seconds(30))
        #expect(schedule.nextScheduledFetch(after: start) == start)
        schedule.fetched(at: start, succeeded: true)
        #expect(schedule.nextScheduledFetch(after: start) == start + .seconds(300))
        var at = start
        for expected in [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300] {
            schedule.fetched(at: at, succeeded: false)
            #expect(schedule.nextScheduledFetch(after: at) == at + .seconds(expected))
            at += .seconds(expected)
        }
        schedule.fetched(at: at, succeeded: true)
        #expect(schedule.nextScheduledFetch(after: at) == at + .seconds(300))
    }

    @Test("an unknown kid may cause a fetch only once per minimum gap since the last fetch of any kind")
    func unknownKeys() {
        let start = ContinuousClock.now
        var schedule = JWKSRefreshSchedule(interval: .seconds(300), minimumGap: .seconds(30))
        #expect(schedule.mayFetchForUnknownKey(at: start))
        schedule.fetched(at: start, succeeded: true)
        #expect(!schedule.mayFetchForUnknownKey(at: start + .seconds(29)))
        #expect(schedule.mayFetchForUnknownKey(at: start + .seconds(30)))
        schedule.fetched(at: start + .seconds(40), succeeded: false)
        #expect(!schedule.mayFetchForUnknownKey(at: start + .seconds(60)))
    }
}

@Suite("JWKS documents")
struct JWKSDocumentTests {
    static let rsaModulus =
        "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw"

    @Test("signature keys of the three types are kept; encryption keys, odd types and algorithms, and kid-less keys among several are left out")
    func parse() throws {
        let document = """
            {"keys": [
              {"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "n": "\(Self.rsaModulus)", "e": "AQAB"},
              {"kty": "RSA", "kid": "r2", "n": "\(Self.rsaModulus)", "e": "AQAB"},
              {"kty": "RSA", "kid": "enc", "use": "enc", "n": "\(Self.rsaModulus)", "e": "AQAB"},
              {"kty": "RSA", "kid": "weird-alg", "alg": "HS256", "n": "\(Self.rsaModulus)", "e": "AQAB"},
              {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
              {"kty": "RSA", "n": "\(Self.rsaModulus)", "e": "AQAB"},
              "not a key"
            ]}
            """
        let (keys, skipped) = try JWKSKeySet.parse(Data(document.utf8))
        #expect(keys.map(\.jwk.keyIdentifier?.string) == ["r1", "r2"])
        #expect(keys.map(\.algorithm) == ["RS256", nil])
        #expect(skipped.count == 4)
        #expect(skipped.contains("kid hmac: key type not RSA, EC or OKP"))
        #expect(skipped.contains("kid weird-alg: algorithm HS256 is not accepted for RSA keys"))
    }

    @Test("a document that is not a key set is refused whole")
    func notAKeySet() {
        for document in ["[]", "{}", #"{"keys": 3}"#, "<html>", ""] {
            #expect(throws: JWKSKeySet.FetchError.self) { try JWKSKeySet.parse(Data(document.utf8)) }
        }
    }
}

@Suite("Guest limits' client addresses")
struct GuestAddressTests {
    @Test("an IPv4 address is one client; an IPv6 address counts by its /64; a mapped IPv4 address is its IPv4 address")
    func addresses() throws {
        #expect(ClientAddress.addressKey(try SocketAddress(ipAddress: "203.0.113.7", port: 4000)) == "203.0.113.7")
        #expect(ClientAddress.addressKey(try SocketAddress(ipAddress: "2001:db8:1:2:aaaa::1", port: 4000)) == "2001:0db8:0001:0002::/64")
        #expect(ClientAddress.addressKey(try SocketAddress(ipAddress: "2001:db8:1:2:ffff::9", port: 1)) == "2001:0db8:0001:0002::/64")
        #expect(ClientAddress.addressKey(try SocketAddress(ipAddress: "::ffff:198.51.100.1", port: 1)) == "198.51.100.1")
        #expect(ClientAddress.addressKey(nil) == "unknown")
    }
}

@Suite("Client addresses behind proxies")
struct ClientAddressTests {
    let proxies = ["10.0.0.0/8", "192.168.1.5", "fd00::/8"].compactMap { IPNetwork(Substring($0)) }

    private func key(_ peer: String, _ forwardedFor: [String]) throws -> String {
        ClientAddress.key(peer: try SocketAddress(ipAddress: peer, port: 1), forwardedFor: forwardedFor, trustedProxies: proxies)
    }

    @Test("networks parse with and without a prefix, and bad ones are refused")
    func networks() {
        #expect(proxies.count == 3)
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("10.0.0") == nil)
        #expect(IPNetwork("fd00::/129") == nil)
        #expect(IPNetwork("10.1.2.3/8")?.contains([10, 200, 0, 1]) == true)
        #expect(IPNetwork("10.1.2.3/8")?.contains([11, 0, 0, 1]) == false)
        #expect(IPNetwork("10.1.2.3/12")?.contains([10, 15, 255, 255]) == true)
        #expect(IPNetwork("10.1.2.3/12")?.contains([10, 16, 0, 0]) == false)
    }

    @Test("a request from a trusted proxy counts as the right-most forwarded address that is not a trusted proxy")
    func forwarded() throws {
        #expect(try key("10.1.1.1", ["203.0.113.9"]) == "203.0.113.9")
        // The client wrote the left-hand entry itself: it is not believed.
        #expect(try key("10.1.1.1", ["1.2.3.4, 203.0.113.9"]) == "203.0.113.9")
        #expect(try key("10.1.1.1", ["1.2.3.4", "203.0.113.9, 192.168.1.5"]) == "203.0.113.9")
        #expect(try key("fd00::1", ["2001:db8:1:2::7"]) == "2001:0db8:0001:0002::/64")
        // Garbage stops the walk at the nearest address known good.
        #expect(try key("10.1.1.1", ["not-an-address"]) == "10.1.1.1")
        #expect(try key("10.1.1.1", []) == "10.1.1.1")
    }

    @Test("a request from anyone else counts as its peer, whatever it forwards")
    func untrusted() throws {
        #expect(try key("203.0.113.50", ["1.1.1.1"]) == "203.0.113.50")
        #expect(
            ClientAddress.key(peer: try SocketAddress(ipAddress: "10.1.1.1", port: 1), forwardedFor: ["1.1.1.1"], trustedProxies: []) == "10.1.1.1"
        )
    }
}
