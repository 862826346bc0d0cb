import HeraldCore
import HeraldProtocol
import Logging

@testable import Worker

/// An in-memory sink that keeps every event in order and lets a test wait for one.
actor CollectingEventSink: EventSink {
    private(set) var events: [AgentEvent] = []
    private var waiters: [(predicate: @Sendable (AgentEvent) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

    func emit(_ event: AgentEvent) async throws {
        events.append(event)
        var pending: [(predicate: @Sendable (AgentEvent) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []
        for waiter in waiters {
            if waiter.predicate(event) {
                waiter.continuation.resume()
            } else {
                pending.append(waiter)
            }
        }
        waiters = pending
    }

    /// Returns once an event matching `predicate` was emitted (at once if one already was).
    func waitFor(_ predicate: @escaping @Sendable (AgentEvent) -> Bool) async {
        if events.contains(where: predicate) { return }
        await withCheckedContinuation { continuation in
            waiters.append((predicate, continuation))
        }
    }

    /// The events as a connection would see them: seq 1…n in one epoch.
    func frames() -> [EventFrame] {
        events.enumerated().map { EventFrame(seq: $0.offset + 1, epoch: "test", event: $0.element) }
    }
}

/// Keeps paused runs in memory, announcing each one's request on `sink` as the Redis suspender does in the partition.
actor RecordingSuspender: RunSuspender {
    let sink: any EventSink
    private(set) var paused: [PausedRun] = []

    init(sink: any EventSink) {
        self.sink = sink
    }

    func suspend(_ run: PausedRun) async throws {
        try await sink.emit(run.requestEvent)
        paused.append(run)
    }
}

/// A sink that fails its first `failures` emits, then passes events on.
actor FlakyEventSink: EventSink {
    struct Down: Error {}
    private var failures: Int
    let inner = CollectingEventSink()

    init(failures: Int) {
        self.failures = failures
    }

    func emit(_ event: AgentEvent) async throws {
        if failures > 0 {
            failures -= 1
            throw Down()
        }
        try await inner.emit(event)
    }
}

/// A sink that never accepts an event, like Redis while it is down.
struct BrokenEventSink: EventSink {
    struct Down: Error {}
    func emit(_ event: AgentEvent) async throws { throw Down() }
}

enum TestSupport {
    static let logger = Logger.test("herald.worker.tests")

    static func input(_ message: String, history: [ConversationTurn] = [], runID: String = "run_test") -> RunInput {
        RunInput(runID: runID, threadID: "thread_test", userID: "user_test", message: message, history: history)
    }

    static func engine(
        sink: any EventSink,
        suspender: (any RunSuspender)? = nil,
        model: any LanguageModel = OfflineModel(wordDelay: .zero),
        tools: ToolRegistry = ToolRegistry.standard(docs: .empty),
        configuration: EngineConfiguration = EngineConfiguration(
            emitRetry: EmitRetryPolicy(maximumDuration: .seconds(5), initialDelay: .milliseconds(1), maximumDelay: .milliseconds(10))
        )
    ) -> ExecutionEngine {
        ExecutionEngine(
            sink: sink,
            suspender: suspender ?? RecordingSuspender(sink: sink),
            model: model,
            tools: tools,
            configuration: configuration,
            logger: logger
        )
    }

    /// Every run-rule violation of the recorded events.
    static func violations(_ sink: CollectingEventSink) async -> [RunRuleViolation] {
        RunRulesValidator.validate(await sink.frames())
    }
}
