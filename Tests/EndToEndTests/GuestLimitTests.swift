import Foundation
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Testing

/// Issue #20: guest mode guarded. New guests per client address per minute and runs per guest per hour, counted by
/// every gateway together; `HERALD_GUESTS=off`; the warning a deployment with guests and a real model logs.
@Suite(.timeLimit(.minutes(4)))
struct GuestLimitTests {
    private static func aguiRun(_ message: String = "what is 2+2?") -> String {
        JSONValue.object([
            "threadId": .string("guest-\(UUID().uuidString)"), "runId": .string(UUID().uuidString), "state": [:], "tools": [], "context": [],
            "forwardedProps": [:], "messages": [["id": .string(UUID().uuidString), "role": "user", "content": .string(message)]],
        ]).jsonString()
    }

    @Test func newGuestsFromOneAddressAreLimitedAcrossGatewaysAndAReturningGuestIsNotNew() async throws {
        let environment = ["HERALD_GUEST_NEW_PER_MINUTE": "3"]
        try await withDeployment(workers: 1, environment: environment) { deployment in
            let second = try await deployment.startAnotherGateway()
            let first = try await deployment.connect()
            let sse = SSETestClient(port: second.port)
            // Two more new guests: one on each gateway, one of them over HTTP.
            let other = try await deployment.connect()
            let overHTTP = try await sse.send(.POST, "/agui", json: Self.aguiRun())
            #expect(overHTTP.status == 200)
            #expect(overHTTP.header("X-Herald-Guest-Token") != nil)

            // The fourth new guest within the minute is refused, on either gateway and either route.
            let upgrade = try await HTTPProbe.get(port: second.port, path: "/ws", headers: LogSecrecyTests.upgradeHeaders)
            #expect(upgrade.status == 429)
            #expect(upgrade.body.contains(#""error":"rate_limited""#), "\(upgrade.body)")
            let refused = try await sse.send(.POST, "/agui", json: Self.aguiRun())
            #expect(refused.status == 429)
            let onFirst = try await HTTPProbe.get(port: deployment.gatewayPort, path: "/ws", headers: LogSecrecyTests.upgradeHeaders)
            #expect(onFirst.status == 429)

            // A returning guest presents its token: it is not a new guest, and keeps its identity.
            let token = try #require(first.established.guestToken)
            let again = try await ChatTestClient.connect(port: second.port, token: token)
            #expect(again.userID == first.userID)
            let metrics = try await HTTPProbe.get(port: second.port, path: "/metrics").body
            #expect(metrics.contains(#"herald_gateway_limit_refusals_total{limit="new_guests"} 2"#), "\(metrics)")
            await again.close()
            await other.close()
            await first.close()
            await sse.shutdown()
        }
    }

    @Test func aGuestsRunsPerHourAreLimitedOnEveryRouteAndOtherGuestsAreNotAffected() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_GUEST_RUNS_PER_HOUR": "2"]) { deployment in
            let guest = try await deployment.connect()
            // Messages that queue no run (another guest's thread: forbidden) count for nothing.
            let owner = try await deployment.connect()
            let owned = try await owner.startRun("what is 1+2?")
            _ = try await owner.events(untilEndOf: owned.runID)
            for _ in 0..<3 {
                do {
                    _ = try await guest.startRun("hello", threadID: owned.threadID)
                    Issue.record("a run on another guest's thread was queued")
                } catch let error as ProtocolError {
                    #expect(error.code == .forbidden)
                }
            }
            for _ in 0..<2 {
                let queued = try await guest.startRun("what is 1+1?")
                _ = try await guest.events(untilEndOf: queued.runID)
            }
            do {
                _ = try await guest.startRun("what is 1+1?")
                Issue.record("a third run within the hour was queued")
            } catch let error as ProtocolError {
                #expect(error.code == .rateLimited)
                #expect(error.message == "a guest may start 2 runs an hour; sign in, or try again later")
            }
            // The same guest over HTTP, by its token: the count is the guest's, whatever the route.
            let sse = SSETestClient(port: deployment.gatewayPort)
            let token = try #require(guest.established.guestToken)
            let overHTTP = try await sse.send(.POST, "/agui", json: Self.aguiRun(), headers: ["Authorization": "Bearer \(token)"])
            #expect(overHTTP.status == 429)
            #expect((try? JSONValue.parse(overHTTP.body))?["error"]?.stringValue == "rate_limited", "\(overHTTP.body)")
            // Another guest has runs of its own.
            let other = try await deployment.connect()
            let queued = try await other.startRun("what is 6*7?")
            #expect(try await other.events(untilEndOf: queued.runID).finalReport?.report.contains("42") == true)
            await other.close()
            await guest.close()
            await sse.shutdown()
        }
    }

    @Test func withGuestsOffEveryConnectionAndRequestWithoutAValidTokenIs401() async throws {
        try await withDeployment(workers: 1, environment: ["HERALD_GUESTS": "off"]) { deployment in
            let port = deployment.gatewayPort
            let sse = SSETestClient(port: port)
            let upgrade = try await HTTPProbe.get(port: port, path: "/ws", headers: LogSecrecyTests.upgradeHeaders)
            #expect(upgrade.status == 401)
            #expect(upgrade.body.contains("this deployment makes no guests (HERALD_GUESTS=off)"), "\(upgrade.body)")
            // A guest token issued while guests were on (signed with the deployment's guest secret) is refused too.
            let guestSecret = "a-guest-secret-of-the-deployment-0123456789"
            _ = try await deployment.redis.string("SET", "herald:guest-secret", guestSecret)
            let oldGuest = LogSecrecyTests.jwt(sub: "guest_before", secret: guestSecret, expires: Date().addingTimeInterval(3600))
            let returning = try await HTTPProbe.get(
                port: port,
                path: "/ws",
                headers: LogSecrecyTests.upgradeHeaders.merging(["Authorization": "Bearer \(oldGuest)"]) { $1 }
            )
            #expect(returning.status == 401)
            #expect(try await sse.send(.POST, "/agui", json: Self.aguiRun(), headers: ["Authorization": "Bearer \(oldGuest)"]).status == 401)
            #expect(try await sse.send(.POST, "/agui", json: Self.aguiRun()).status == 401)
            #expect(try await sse.send(.POST, "/api/chat", json: #"{"id":"c","messages":[]}"#).status == 401)
            #expect(try await HTTPProbe.get(port: port, path: "/api/threads").status == 401)
            let forged = try await HTTPProbe.get(port: port, path: "/ws?token=not.a.token", headers: LogSecrecyTests.upgradeHeaders)
            #expect(forged.status == 401)
            #expect(deployment.logs.contains("guests off (every request needs a token)"))
            await sse.shutdown()
        }
    }

    @Test func guestModeWithARealModelLogsTheRiskWhicheverStartsFirst() async throws {
        let realModel = ["HERALD_LLM_BASE_URL": "http://127.0.0.1:9/v1", "HERALD_LLM_MODEL": "test-model"]
        // Workers first (the harness's order): the gateway warns.
        try await withDeployment(workers: 1, environment: realModel) { deployment in
            try await waitUntil("the gateway warns of guests with a real model") {
                deployment.gateway?.log.contains(GuestModeRisk.warning) == true
            }
        }
        // A worker that starts after the gateway: the worker warns.
        try await withDeployment(workers: 0) { deployment in
            let worker = try await deployment.startWorker(environment: realModel)
            try await waitUntil("the worker warns of guests with a real model") { worker.log.contains(GuestModeRisk.warning) }
            #expect(deployment.gateway?.log.contains(GuestModeRisk.warning) == false)
        }
        // JWT mode: no guests, no warning, once the worker has compared (its debug line comes after the warning would).
        let jwtMode = ["HERALD_JWT_SECRET": String(repeating: "s", count: 32), "HERALD_LOG_LEVEL": "debug"]
        try await withDeployment(workers: 0, environment: jwtMode) { deployment in
            let worker = try await deployment.startWorker(environment: realModel)
            try await waitUntil("the worker compared its model with the gateways' guest mode") {
                worker.log.contains("model compared with the gateways' guest mode")
            }
            #expect(!worker.log.contains(GuestModeRisk.warning))
        }
    }
}
