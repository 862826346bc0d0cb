import Foundation
import HTTPTypes
import HeraldTesting
import JWTKit
import Testing

@testable import Gateway

@Suite("Authentication", .timeLimit(.minutes(2)))
struct AuthTests {
    static let secret = "test-secret-0123456789abcdef-0123456789"

    private func token(
        sub: String,
        secret: String = AuthTests.secret,
        expires: Date? = Date().addingTimeInterval(3600),
        notBefore: Date? = nil
    ) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(
            UserClaims(sub: SubjectClaim(value: sub), exp: expires.map(ExpirationClaim.init), nbf: notBefore.map(NotBeforeClaim.init))
        )
    }

    private func upgrade(_ harness: GatewayHarness, path: String = "/ws", headers: [String: String] = [:]) async throws -> (status: Int, body: String)
    {
        let response = try await HTTPProbe.get(port: harness.port, path: path, headers: WebSocketHandshake.headers.merging(headers) { $1 })
        return (response.status, response.body)
    }

    @Test("in JWT mode, missing, malformed, forged, expired and not-yet-valid tokens get 401 with a JSON body before the upgrade")
    func refusedBeforeUpgrade() async throws {
        try await GatewayHarness.with(.tuned { $0.jwtSecret = Self.secret }) { harness in
            let forged = try await token(sub: "mallory", secret: "another-secret-entirely-0123456789abcdef")
            let expired = try await token(sub: "alice", expires: Date().addingTimeInterval(-60))
            let early = try await token(sub: "alice", notBefore: Date().addingTimeInterval(3600))
            let attempts: [(String, [String: String], String)] = [
                ("/ws", [:], "a token is required"),
                ("/ws", ["Authorization": "Bearer not.a.jwt"], "invalid token"),
                ("/ws", ["Authorization": "Bearer \(forged)"], "invalid token"),
                ("/ws?token=\(forged)", [:], "invalid token"),
                ("/ws", ["Sec-WebSocket-Protocol": "herald.v1, bearer.\(forged)"], "invalid token"),
                ("/ws", ["Authorization": "Bearer \(expired)"], "token expired"),
                ("/ws", ["Authorization": "Bearer \(early)"], "token not valid yet"),
            ]
            for (path, headers, message) in attempts {
                let response = try await upgrade(harness, path: path, headers: headers)
                #expect(response.status == 401, "\(path) \(headers)")
                let body = try JSONDecoder().decode([String: String].self, from: Data(response.body.utf8))
                #expect(body == ["error": "unauthorized", "message": message], "\(path) \(headers)")
            }
            #expect(harness.metric("herald_gateway_upgrades_refused_total") == Double(attempts.count))
            #expect(await harness.gateway.connectionCount == 0)
        }
    }

    @Test("in JWT mode a valid token's sub is the user, from the subprotocol list, the query or the header")
    func acceptedToken() async throws {
        try await GatewayHarness.with(.tuned { $0.jwtSecret = Self.secret }) { harness in
            let alice = try await token(sub: "alice")
            try await within(60, "jwt connections") {
                let viaSubprotocol = try await harness.connect(token: alice)
                #expect(viaSubprotocol.userID == "alice")
                #expect(viaSubprotocol.established.guestToken == nil)
                await viaSubprotocol.close()
            }
            // The header and query forms, checked at the HTTP level: the upgrade answers 101 and names the subprotocol.
            for (path, headers) in [("/ws?token=\(alice)", [String: String]()), ("/ws", ["Authorization": "Bearer \(alice)"])] {
                let head = try await HTTPProbe.get(
                    port: harness.port,
                    path: path,
                    headers: WebSocketHandshake.headers.merging(headers) { $1 },
                    headOnly: true
                ).head
                #expect(head.hasPrefix("HTTP/1.1 101"), "\(path): \(head)")
                #expect(head.lowercased().contains("sec-websocket-protocol: herald.v1"), "\(path): \(head)")
            }
        }
    }

    @Test("a connection whose token expires is closed with 4401")
    func tokenExpiresDuringConnection() async throws {
        // No leeway: the connection closes at `exp` itself (with one, at `exp` + leeway).
        try await GatewayHarness.with(
            .tuned {
                $0.jwtSecret = Self.secret
                $0.tokenPolicy.leeway = .zero
            }
        ) { harness in
            // Long enough to outlive the upgrade even when the whole suite loads both cores (a full parallel run once
            // took 12 s to upgrade); the test waits this long for the close.
            let shortLived = try await token(sub: "bob", expires: Date().addingTimeInterval(20))
            try await within(60, "close 4401") {
                let client = try await harness.connect(token: shortLived)
                #expect(client.userID == "bob")
                #expect(try await client.closeCode() == 4401)
            }
        }
    }

    @Test("tokens are found in the subprotocol list, the query and the Authorization header, in that order")
    func credentialExtraction() {
        func request(_ path: String, _ fields: [(HTTPField.Name, String)]) -> HTTPRequest {
            var headers = HTTPFields()
            for (name, value) in fields { headers.append(HTTPField(name: name, value: value)) }
            return HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: path, headerFields: headers)
        }
        let all = PresentedCredentials(
            request: request(
                "/ws?a=1&token=from%2Dquery",
                [
                    (.secWebSocketProtocol, "herald.v1, bearer.from-protocol"),
                    (.authorization, "Bearer from-header"),
                ]
            )
        )
        #expect(all == PresentedCredentials(token: "from-protocol", offersHeraldProtocol: true))
        #expect(PresentedCredentials(request: request("/ws?token=from%2Dquery", [(.authorization, "Bearer from-header")])).token == "from-query")
        #expect(PresentedCredentials(request: request("/ws", [(.authorization, "bearer from-header")])).token == "from-header")
        #expect(
            PresentedCredentials(request: request("/ws", [(.secWebSocketProtocol, "herald.v1")]))
                == PresentedCredentials(token: nil, offersHeraldProtocol: true)
        )
        #expect(
            PresentedCredentials(request: request("/ws", [(.secWebSocketProtocol, "chat"), (.secWebSocketProtocol, "bearer.abc")]))
                == PresentedCredentials(token: "abc", offersHeraldProtocol: false)
        )
        #expect(PresentedCredentials.route(of: "/ws?token=x") == "/ws")
    }
}
