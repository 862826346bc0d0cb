import NIOCore
import Synchronization
import Testing

@testable import Redis

/// The commands in flight on one connection, without a socket. Each command waits in a task of its own, as a
/// caller of `RedisConnection.send` does; the test feeds replies and resumes what the machine says to resume, as the
/// channel handler does.
@Suite struct RedisConnectionStateMachineTests {
    /// The machine, shared by the test and the waiting commands.
    private final class Harness: Sendable {
        let machine = Mutex(RedisConnectionStateMachine())
        let deadline = NIODeadline.now() + .seconds(60)

        /// Starts a command and returns once the machine holds it (or refused it).
        func startCommand() async -> Task<RESPValue, any Error> {
            let (registered, signal) = AsyncStream<Void>.makeStream()
            let task = Task {
                try await withUnsafeThrowingContinuation { continuation in
                    let action = machine.withLock { $0.send(.single(continuation), deadline: deadline) }
                    if case .fail(let error) = action { continuation.resume(throwing: error) }
                    signal.finish()
                }
            }
            for await _ in registered {}
            return task
        }

        /// Starts a pipeline of `count` commands and returns once the machine holds it.
        func startPipeline(_ count: Int) async -> Task<[Result<RESPValue, RedisError>], any Error> {
            let (registered, signal) = AsyncStream<Void>.makeStream()
            let task = Task {
                try await withUnsafeThrowingContinuation { continuation in
                    let action = machine.withLock { state in
                        state.send(.pipeline(RedisPipelineCollector(expected: count, continuation: continuation)), deadline: deadline)
                    }
                    if case .fail(let error) = action { continuation.resume(throwing: error) }
                    signal.finish()
                }
            }
            for await _ in registered {}
            return task
        }

        /// Hands `value` to the machine and carries out its action; returns the action's name.
        @discardableResult
        func receive(_ value: RESPValue) -> String {
            switch machine.withLock({ $0.receive(value) }) {
            case .resume(let continuation, let result):
                continuation.resume(with: result)
                return "resume"
            case .completePipeline(let collector):
                collector.continuation.resume(returning: collector.results)
                return "completePipeline"
            case .none:
                return "none"
            case .unexpected:
                return "unexpected"
            }
        }

        func close(_ error: RedisError) -> Int? {
            guard let targets = machine.withLock({ $0.close(with: error) }) else { return nil }
            for target in targets { target.fail(error) }
            return targets.count
        }
    }

    @Test func repliesGoToTheCommandsInTheOrderTheyWereSent() async throws {
        let harness = Harness()
        let first = await harness.startCommand()
        let second = await harness.startCommand()
        #expect(harness.machine.withLock { $0.pendingCount } == 2)
        #expect(harness.receive(.integer(1)) == "resume")
        #expect(harness.receive(.simpleString("OK")) == "resume")
        #expect(try await first.value == .integer(1))
        #expect(try await second.value == .simpleString("OK"))
        #expect(harness.machine.withLock { $0.pendingCount == 0 && $0.headDeadline == nil })
    }

    @Test func anErrorReplyFailsOnlyItsCommand() async throws {
        let harness = Harness()
        let failing = await harness.startCommand()
        let next = await harness.startCommand()
        harness.receive(.error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        harness.receive(.integer(7))
        await #expect(throws: RedisError.self) { try await failing.value }
        #expect(try await next.value == .integer(7))
    }

    @Test func aPipelineCollectsOneReplyPerCommandAndKeepsErrorsApart() async throws {
        let harness = Harness()
        let batch = await harness.startPipeline(3)
        let after = await harness.startCommand()
        #expect(harness.receive(.integer(1)) == "none")
        #expect(harness.receive(.error("ERR no")) == "none")
        #expect(harness.receive(.integer(3)) == "completePipeline")
        #expect(harness.receive(.integer(4)) == "resume")
        let results = try await batch.value
        #expect(results.count == 3)
        #expect(try results[0].get() == .integer(1))
        #expect(throws: RedisError.self) { try results[1].get() }
        #expect(try results[2].get() == .integer(3))
        #expect(try await after.value == .integer(4))
    }

    @Test func aReplyNobodyWaitsForIsUnexpected() {
        let harness = Harness()
        #expect(harness.receive(.integer(1)) == "unexpected")
    }

    @Test func closingFailsEveryPendingCommandOnceAndRefusesLaterOnes() async throws {
        let harness = Harness()
        let first = await harness.startCommand()
        let batch = await harness.startPipeline(2)
        harness.receive(.integer(1))  // the first command is answered before the connection closes
        let closed = RedisError.clientClosed
        #expect(harness.close(closed) == 1)
        #expect(harness.close(closed) == nil, "a closed machine stays closed")
        #expect(try await first.value == .integer(1))
        await #expect(throws: RedisError.self) { try await batch.value }
        #expect(!harness.machine.withLock { $0.isOpen })
        let late = await harness.startCommand()
        await #expect(throws: RedisError.self) { try await late.value }
        #expect(harness.receive(.integer(2)) == "unexpected")
    }

    @Test func onlyTheOldestCommandsDeadlineIsWatched() async throws {
        let harness = Harness()
        let first = await harness.startCommand()
        let second = await harness.startCommand()
        #expect(harness.machine.withLock { $0.headDeadline } == harness.deadline)
        harness.receive(.integer(1))
        harness.receive(.integer(2))
        _ = try await (first.value, second.value)
        #expect(harness.machine.withLock { $0.headDeadline } == nil)
    }
}
