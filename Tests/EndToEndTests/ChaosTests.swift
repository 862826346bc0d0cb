import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

/// The chaos run: 200 runs across 3 workers and 2 relays while a random worker is killed every few
/// seconds and the active relay twice. Every run must end, every run must obey the run rules, and
/// no connection may see a gap or a duplicate. Slow (about a minute), so it runs only when asked:
/// `bash scripts/chaos.sh` (sets HERALD_CHAOS=1).
@Suite(.timeLimit(.minutes(10)), .enabled(if: ProcessInfo.processInfo.environment["HERALD_CHAOS"] == "1"))
struct ChaosTests {
    @Test func everyRunEndsValidlyWhileWorkersAndRelaysDie() async throws {
        let started = ContinuousClock.now
        try await withDeployment(
            workers: 3,
            relays: 2,
            environment: ["HERALD_RUN_LEASE_SECONDS": "3", "HERALD_RELAY_LEASE_SECONDS": "2", "HERALD_OFFLINE_DELAY_MS": "10"]
        ) { deployment in
            let sessions = 20
            let runsPerSession = 10
            let clients = try await withThrowingTaskGroup(of: ChatTestClient.self) { group in
                for _ in 0..<sessions { group.addTask { try await deployment.connect() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let chaos = Task {
                var workerKills = 0
                var relayKills = 0
                var round = 0
                while !Task.isCancelled {
                    // The cadence of the chaos itself, not a wait for something to happen.
                    try? await Task.sleep(for: .seconds(2))
                    if Task.isCancelled { break }
                    round += 1
                    let live = deployment.workers.filter(\.isRunning)
                    if let victim = live.randomElement() {
                        victim.kill9()
                        workerKills += 1
                        try await deployment.startWorker()
                    }
                    if relayKills < 2, round == 2 || round == 5, let relay = deployment.relays.first(where: \.isRunning) {
                        relay.kill9()
                        relayKills += 1
                        try await deployment.startRelay()
                    }
                }
                return (workerKills, relayKills)
            }
            let outcomes = try await withThrowingTaskGroup(of: [String: EventType].self) { group in
                for (index, client) in clients.enumerated() {
                    group.addTask {
                        var thread: String?
                        var ends: [String: EventType] = [:]
                        for run in 0..<runsPerSession {
                            let queued = try await client.startRun("what is \(index)*\(run)? then wait 1 seconds", threadID: thread)
                            thread = queued.threadID
                            let frames = try await client.events(untilEndOf: queued.runID)
                            ends[queued.runID] = frames.terminal?.type
                        }
                        return ends
                    }
                }
                return try await group.reduce(into: [:]) { $0.merge($1) { first, _ in first } }
            }
            chaos.cancel()
            let (workerKills, relayKills) = try await chaos.value
            #expect(outcomes.count == sessions * runsPerSession)
            var violations: [RunRuleViolation] = []
            for client in clients {
                violations += RunRulesValidator.validate(await client.receivedEvents)
            }
            #expect(violations.isEmpty, "\(violations.prefix(10))")
            let lost = outcomes.values.filter { $0 == .agentError }.count
            let elapsed = ContinuousClock.now - started
            print(
                "chaos: \(outcomes.count) runs, \(outcomes.count - lost) completed, \(lost) ended worker_lost; \(workerKills) workers and \(relayKills) relays killed; \(violations.count) violations; \(elapsed)"
            )
            #expect(relayKills == 2)
            for client in clients { await client.close() }
        }
    }
}
