import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

@testable import Gateway

@Suite("Redis outages", .timeLimit(.minutes(2)))
struct RedisOutageTests {
    @Test("while Redis is away requests get `internal` errors, connections stay up, and work resumes when it returns")
    func degradesAndRecovers() async throws {
        try await GatewayHarness.with { harness in
            try await within(60, "outage and recovery") {
                let client = try await harness.connect()
                let run = try await client.startRun("hello")
                await harness.server.kill()

                try await client.send(.userMessage(.init(content: "anyone?", clientMessageID: "m-down")))
                let refused = try await client.nextError()
                #expect(refused.code == .internal)
                #expect(refused.ref == "m-down")
                try await client.send(.resume(.init(threadID: run.threadID, afterSeq: 0)))
                #expect(try await client.nextError().code == .internal)
                try await client.send(.ping)
                _ = try await client.next("pong") { frame -> Bool? in
                    if case .server(.pong) = frame { return true }
                    return nil
                }
                #expect(try await HTTPProbe.status(port: harness.port, path: "/readyz") == 503)

                try await harness.server.restart()
                try await waitUntil("Redis is reachable again", timeout: .seconds(20)) {
                    try await HTTPProbe.status(port: harness.port, path: "/readyz") == 200
                }
                let again = try await client.startRun("back again")
                #expect(!again.threadID.isEmpty)
                // A new connection works as well (the guest secret is created anew in the empty Redis).
                let fresh = try await harness.connect()
                await fresh.close()
                await client.close()
            }
        }
    }
}
