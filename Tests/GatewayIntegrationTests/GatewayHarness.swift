import Foundation
import Gateway
import HeraldCore
import HeraldProtocol
import HeraldTesting
import Logging
import Prometheus
import Redis
import ServiceLifecycle

/// A gateway running in-process on a free port against a private redis-server, with a Redis client
/// of the test's own to inspect keys and to play the relay's part.
final class GatewayHarness: Sendable {
    let server: RedisServerProcess
    let redis: RedisClient
    let keys: RedisKeys
    let settings: GatewaySettings
    let port: Int
    let gateway: Gateway
    let registry: PrometheusCollectorRegistry
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    private let gatewayRedis: RedisClient

    private init(
        server: RedisServerProcess,
        redis: RedisClient,
        gatewayRedis: RedisClient,
        settings: GatewaySettings,
        port: Int,
        gateway: Gateway,
        registry: PrometheusCollectorRegistry,
        group: ServiceGroup,
        running: Task<Void, any Error>
    ) {
        self.server = server
        self.redis = redis
        self.gatewayRedis = gatewayRedis
        self.keys = settings.common.keys
        self.settings = settings
        self.port = port
        self.gateway = gateway
        self.registry = registry
        self.group = group
        self.running = running
    }

    static var logger: Logger {
        var logger = Logger(label: "gateway-test")
        logger.logLevel = ProcessInfo.processInfo.environment["HERALD_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    /// Starts redis-server and a gateway; `configure` adjusts the settings first.
    static func start(_ configure: (inout GatewaySettings) -> Void = { _ in }) async throws -> GatewayHarness {
        let server = try await RedisServerProcess.start()
        let configuration = try RedisConfiguration(url: server.url)
        var settings = GatewaySettings(
            common: CommonSettings(redis: configuration, keys: RedisKeys(prefix: "test-\(UInt32.random(in: 0...UInt32.max))")),
            host: "127.0.0.1",
            port: 0,
            // Every test's clients come from 127.0.0.1: the guest limits are tested with their own values.
            newGuestsPerMinute: 1_000_000,
            guestRunsPerHour: 1_000_000,
            closeTimeout: .seconds(2)
        )
        configure(&settings)
        let logger = Self.logger
        let redis = RedisClient(configuration: configuration, logger: logger)
        let gatewayRedis = RedisClient(configuration: configuration, logger: logger)
        let subscriber = RedisSubscriber(configuration: configuration, logger: logger)
        let registry = PrometheusCollectorRegistry()
        let gateway = Gateway(settings: settings, redis: gatewayRedis, subscriber: subscriber, registry: registry, logger: logger)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let group = ServiceGroup(
            configuration: .init(
                services: gateway.services { port in
                    portContinuation.yield(port)
                    portContinuation.finish()
                },
                logger: logger
            )
        )
        let running = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await running.value
            throw TestFailure("gateway stopped before it listened")
        }
        return GatewayHarness(
            server: server,
            redis: redis,
            gatewayRedis: gatewayRedis,
            settings: settings,
            port: port,
            gateway: gateway,
            registry: registry,
            group: group,
            running: running
        )
    }

    /// Runs `body` with a fresh harness and always stops it.
    static func with<T>(_ tuning: SettingsTuning = .defaults, _ body: (GatewayHarness) async throws -> T) async throws -> T {
        let harness = try await start(tuning.apply)
        do {
            let result = try await body(harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }

    /// Shuts the gateway down gracefully (sockets close with 1001), then stops Redis.
    func stop() async {
        await shutdownGateway()
        await redis.close()
        await gatewayRedis.close()
        await server.stop()
    }

    /// Triggers graceful shutdown and waits until every service ended.
    func shutdownGateway() async {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    func connect(token: String? = nil) async throws -> ChatTestClient {
        try await ChatTestClient.connect(port: port, token: token, logger: Self.logger)
    }

    // MARK: Playing the relay

    static let appendScript = RedisScript(
        """
        -- KEYS: log state, history; ARGV: epoch, channel, history size, publish ('1' or '0'), then event jsons
        local frames = {}
        local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
        for i = 5, #ARGV do
          seq = seq + 1
          frames[#frames + 1] = '{"seq":' .. seq .. ',"epoch":"' .. ARGV[1] .. '",' .. string.sub(ARGV[i], 2)
        end
        redis.call('HSET', KEYS[1], 'seq', seq, 'epoch', ARGV[1])
        redis.call('RPUSH', KEYS[2], unpack(frames))
        redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
        if ARGV[4] == '1' then
          redis.call('PUBLISH', ARGV[2], table.concat(frames, '\\n'))
        end
        return seq
        """
    )

    /// Appends an event to the thread's log and publishes it, in one step, as the relay does.
    @discardableResult
    func appendEvent(
        thread: String,
        run: String,
        epoch: String,
        text: String = "word ",
        historySize: Int = 1000,
        publish: Bool = true
    ) async throws -> Int {
        try await appendEvents(thread: thread, run: run, epoch: epoch, texts: [text], historySize: historySize, publish: publish)
    }

    /// Appends events to the thread's log and publishes them in one channel message, as the relay publishes
    /// one script call's events; returns the last seq.
    @discardableResult
    func appendEvents(thread: String, run: String, epoch: String, texts: [String], historySize: Int = 1000, publish: Bool = true) async throws -> Int
    {
        let events = texts.map {
            AgentEvent(threadID: thread, runID: run, agentName: "assistant", payload: .partialResult(.init(content: $0, isComplete: false)))
                .encodedJSON()
        }
        let reply = try await redis.evalScript(
            Self.appendScript,
            keys: [keys.threadLogState(thread), keys.threadHistory(thread)],
            arguments: [
                RedisArgument(epoch), RedisArgument(keys.threadChannel(thread)), RedisArgument(historySize), RedisArgument(publish ? "1" : "0"),
            ]
                + events.map { RedisArgument($0) }
        )
        guard let seq = reply.int else { throw TestFailure("append script returned \(reply)") }
        return seq
    }

    /// The frame texts history holds for a thread, by seq (the list's last frame has the thread's seq).
    func historyTexts(thread: String) async throws -> [Int: String] {
        let reply = try await redis.send(
            "EVAL",
            "return {redis.call('HGET', KEYS[1], 'seq') or '0', redis.call('LRANGE', KEYS[2], 0, -1)}",
            "2",
            RedisArgument(keys.threadLogState(thread)),
            RedisArgument(keys.threadHistory(thread))
        )
        guard let parts = reply.array, parts.count == 2, let last = parts[0].string.flatMap(Int.init), let texts = parts[1].array else {
            throw TestFailure("history read returned \(reply)")
        }
        var result: [Int: String] = [:]
        for (index, value) in texts.enumerated() {
            if let text = value.string { result[last - texts.count + 1 + index] = text }
        }
        return result
    }

    /// The value of a metric line such as `herald_gateway_errors_total{code="bad_request"}`.
    func metric(_ line: String) -> Double? {
        let text = registry.emitToString()
        for row in text.split(separator: "\n") where row.hasPrefix(line + " ") {
            return Double(row.dropFirst(line.count + 1))
        }
        return nil
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ChatTestClient {
    /// The next `seq` numbers of event frames on a thread, consuming frames until `count` were seen.
    func nextSeqs(_ count: Int, thread: String) async throws -> [Int] {
        var seqs: [Int] = []
        while seqs.count < count {
            if case .event(let frame) = try await next(), frame.threadID == thread {
                seqs.append(frame.seq)
            }
        }
        return seqs
    }

    /// The next frame that is a `resumed`, consuming frames before it.
    func nextResumed() async throws -> ServerMessage.Resumed {
        try await next("resumed") { frame in
            if case .server(.resumed(let resumed)) = frame { return resumed }
            return nil
        }
    }
}

/// How a test changes the gateway's settings from the harness's defaults: `.tuned { $0.maxFrameBytes = 1024 }`.
struct SettingsTuning: Sendable {
    let apply: @Sendable (inout GatewaySettings) -> Void

    static let defaults = SettingsTuning { _ in }

    static func tuned(_ apply: @escaping @Sendable (inout GatewaySettings) -> Void) -> SettingsTuning {
        SettingsTuning(apply: apply)
    }
}
