import Foundation
import HeraldCore
import HeraldProtocol
import Logging
import Redis
import Synchronization

/// Herald, fed at the worker's boundary: each session is a guest that `resume`s a thread of its own, and events
/// enter as a worker writes them, `XADD` of a `PartitionEntry` to the thread's event partition. The relay
/// sequences, stores and publishes them, and the gateway delivers them, as in production; no worker or model
/// timing is in the figure.
///
/// With a tap, the bench also subscribes to every thread's Redis channel, so the relay's part (wake-up, script,
/// `PUBLISH`) and the gateway's (pub/sub to socket) show apart; the extra subscriber costs Redis a little.
///
/// The threads are made for the bench (their record names the guest as owner) and each holds one run, opened
/// before the first stamped event and closed by `close`, so every connection sees a run that obeys the rules.
final class HeraldPathSystem: PathSystem {
    let name = "Herald"
    private let target: GatewayTarget
    private let redis: RedisClient
    private let keys: RedisKeys
    private let partitions: Int
    private let logger: Logger
    private let tap: RedisSubscriber?
    private let published = PathReceiver(checksSeq: false)
    private let opened = Mutex<Opened?>(nil)

    private struct Opened {
        var receivers: [PathReceiver]
        var sockets: [BenchSocket]
        var threads: [Thread]
        var taps: [RedisPushSubscription] = []
    }

    private struct Thread {
        var threadID: String
        var runID: String
        var stream: RedisArgument
        var template: StampedEventTemplate
    }

    /// `tap`: a subscriber (running) on the same Redis, to time the relay's `PUBLISH`es; nil for none.
    init(target: GatewayTarget, redis: RedisClient, keys: RedisKeys, partitions: Int, tap: RedisSubscriber?, logger: Logger) {
        self.target = target
        self.redis = redis
        self.keys = keys
        self.partitions = partitions
        self.tap = tap
        self.logger = logger
    }

    var receivers: [PathReceiver] { opened.withLock { $0?.receivers ?? [] } }
    var stageReceivers: [(stage: String, receiver: PathReceiver)] { tap == nil ? [] : [("emit → relay PUBLISH seen", published)] }

    func open(sessions: Int) async throws {
        let receivers = (0..<sessions).map { _ in PathReceiver(checksSeq: true) }
        let threads = (0..<sessions).map { _ in
            let threadID = "path-\(UUID().uuidString.lowercased())"
            let runID = "run-\(UUID().uuidString.lowercased())"
            return Thread(
                threadID: threadID,
                runID: runID,
                stream: RedisArgument(self.keys.eventPartition(RedisKeys.partition(of: threadID, partitions: self.partitions))),
                template: StampedEventTemplate(threadID: threadID, runID: runID, agentName: "assistant")
            )
        }
        let (target, redis, keys, logger) = (target, redis, keys, logger)
        let sockets: [BenchSocket?] = await boundedConcurrentMap(sessions, width: 64) { index in
            let receiver = receivers[index]
            do {
                let socket = try await BenchSocket.connect(target, logger: logger) { data, receivedAt in
                    receiver.received(data, at: receivedAt)
                }
                // The thread is the guest's: `resume` subscribes the connection to it from seq 0.
                _ = try await redis.send("HSET", keys.thread(threads[index].threadID), ThreadRecord.Field.owner, socket.established.userID)
                try await socket.send(.resume(.init(threadID: threads[index].threadID, afterSeq: 0)))
                return socket
            } catch {
                receiver.fail("connect failed: \(error)")
                return nil
            }
        }
        let connected = sockets.compactMap { $0 }
        var taps: [RedisPushSubscription] = []
        if let tap {
            let published = self.published
            for thread in threads {
                taps.append(
                    try await tap.subscribe(keys.threadChannel(thread.threadID)) { update in
                        if case .event(.message(let buffer)) = update { published.received(buffer, at: WallClock.now()) }
                    }
                )
            }
        }
        opened.withLock { $0 = Opened(receivers: receivers, sockets: connected, threads: threads, taps: taps) }
        guard connected.count == sessions else {
            throw PathError("only \(connected.count) of \(sessions) Herald sessions connected")
        }
        // Each thread's run opens: the supervisor, then the assistant whose partial results the stamped events are.
        let supervisor = AgentName.supervisor
        try await append(
            threads.flatMap { thread in
                [
                    AgentEvent(
                        threadID: thread.threadID,
                        runID: thread.runID,
                        agentName: supervisor,
                        timestamp: HeraldTimestamp.now(),
                        payload: .agentStarted(.init(agentName: supervisor))
                    ),
                    AgentEvent(
                        threadID: thread.threadID,
                        runID: thread.runID,
                        agentName: "assistant",
                        timestamp: HeraldTimestamp.now(),
                        payload: .agentStarted(.init(agentName: "assistant", parentAgent: supervisor))
                    ),
                ]
            }
        )
    }

    func emit(to sessions: [Int]) async throws -> Double {
        let threads = opened.withLock { $0?.threads ?? [] }
        let emittedAt = WallClock.now()
        let timestamp = HeraldTimestamp.now()
        let text = EmitStamp.text(emittedAt: emittedAt)
        var commands: [[RedisArgument]] = []
        commands.reserveCapacity(sessions.count)
        for session in sessions {
            let thread = threads[session]
            let eventID = EventID.make()
            let entry = PartitionEntry(
                json: thread.template.json(eventID: eventID, timestamp: timestamp, stamp: text),
                threadID: thread.threadID,
                runID: thread.runID,
                eventID: eventID,
                agentName: thread.template.agentName,
                type: .partialResult,
                timestamp: timestamp
            )
            commands.append(Self.xadd(thread.stream, entry))
        }
        try await check(redis.pipeline(commands))
        return WallClock.now() - emittedAt
    }

    func close() async {
        let (sockets, threads, taps) = opened.withLock { ($0?.sockets ?? [], $0?.threads ?? [], $0?.taps ?? []) }
        let supervisor = AgentName.supervisor
        do {
            try await append(
                threads.flatMap { thread in
                    [
                        AgentEvent(
                            threadID: thread.threadID,
                            runID: thread.runID,
                            agentName: "assistant",
                            timestamp: HeraldTimestamp.now(),
                            payload: .agentCompleted(.init(agentName: "assistant", status: .success, durationMs: 0))
                        ),
                        AgentEvent(
                            threadID: thread.threadID,
                            runID: thread.runID,
                            agentName: supervisor,
                            timestamp: HeraldTimestamp.now(),
                            payload: .agentCompleted(.init(agentName: supervisor, status: .success, durationMs: 0))
                        ),
                    ]
                }
            )
        } catch {
            logger.error("could not end the path runs: \(error)")
        }
        for tap in taps {
            await tap.unsubscribe()
        }
        await withTaskGroup(of: Void.self) { group in
            for socket in sockets {
                group.addTask { await socket.close() }
            }
        }
    }

    private func append(_ events: [AgentEvent]) async throws {
        let threads = opened.withLock { $0?.threads ?? [] }
        let streams = Dictionary(threads.map { ($0.threadID, $0.stream) }, uniquingKeysWith: { first, _ in first })
        try await check(redis.pipeline(events.map { Self.xadd(streams[$0.threadID]!, PartitionEntry($0)) }))
    }

    private func check(_ replies: [Result<RESPValue, RedisError>]) throws {
        for reply in replies {
            _ = try reply.get()
        }
    }

    private static func xadd(_ stream: RedisArgument, _ entry: PartitionEntry) -> [RedisArgument] {
        var command: [RedisArgument] = ["XADD", stream, "*"]
        for (field, value) in entry.fields {
            command.append(RedisArgument(field))
            command.append(value)
        }
        return command
    }
}

/// Why a path round could not run.
struct PathError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
