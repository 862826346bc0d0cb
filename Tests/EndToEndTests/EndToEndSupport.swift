import HeraldProtocol
import HeraldTesting
import Testing

/// Runs `body` against a fresh deployment of the real executables and always stops it, returning what `body`
/// returned; on failure the processes' logs are attached to the test's report.
@discardableResult
func withDeployment<T>(
    workers: Int = 2,
    relays: Int = 1,
    environment: [String: String] = [:],
    redisArguments: [String] = [],
    redisPassword: String? = nil,
    redisTLS: RedisServerTLS? = nil,
    redisUser: RedisTestUser? = nil,
    _ body: (HeraldDeployment) async throws -> T
) async throws -> T {
    let deployment = try await HeraldDeployment.start(
        workers: workers,
        relays: relays,
        environment: environment,
        redisArguments: redisArguments,
        redisPassword: redisPassword,
        redisTLS: redisTLS,
        redisUser: redisUser
    )
    let result: T
    do {
        result = try await body(deployment)
    } catch {
        Issue.record("deployment logs:\n\(deployment.logs)")
        await deployment.stop()
        throw error
    }
    await deployment.stop()
    return result
}

/// Checks frames with the run-rules validator and records every violation.
func expectValidRuns(_ frames: [EventFrame], sourceLocation: SourceLocation = #_sourceLocation) {
    let violations = RunRulesValidator.validate(frames)
    #expect(violations.isEmpty, "run-rule violations: \(violations)", sourceLocation: sourceLocation)
}

extension [EventFrame] {
    func payloads<T>(_ extract: (EventPayload) -> T?) -> [T] {
        compactMap { extract($0.event.payload) }
    }

    var toolExecutions: [EventPayload.ToolExecuting] {
        payloads { if case .toolExecuting(let tool) = $0 { tool } else { nil } }
    }

    var toolCompletions: [EventPayload.ToolCompleted] {
        payloads { if case .toolCompleted(let tool) = $0 { tool } else { nil } }
    }

    var finalReport: EventPayload.FinalReport? {
        payloads { if case .finalReport(let report) = $0 { report } else { nil } }.first
    }

    var terminal: EventFrame? { last(where: { $0.event.isRunTerminal }) }
}
