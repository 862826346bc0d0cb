import ArgumentParser
import Logging
import Redis

/// Flags every executable takes; each falls back to its `HERALD_…` environment variable.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("redis-url"), help: "Redis URL, redis://[user:password@]host:port[/db] (HERALD_REDIS_URL; default redis://127.0.0.1:6379)")
    public var redisURL: String?

    @Option(name: .customLong("key-prefix"), help: "Prefix of every Redis key, so deployments can share one Redis (HERALD_KEY_PREFIX; default herald)")
    public var keyPrefix: String?

    @Option(name: .customLong("history-size"), help: "Events kept per thread for resume (HERALD_HISTORY_SIZE; default 1000)")
    public var historySize: Int?

    @Option(name: .customLong("history-ttl"), help: "Seconds a thread's history is kept after its last event (HERALD_HISTORY_TTL_SECONDS; default 86400)")
    public var historyTTLSeconds: Int?

    @Option(name: .customLong("thread-retention-days"), help: "Days a thread and its messages are kept after its last run (HERALD_THREAD_RETENTION_DAYS; default 30)")
    public var threadRetentionDays: Int?

    @Option(name: .customLong("run-lease"), help: "Seconds a worker's hold on a run lasts without renewal (HERALD_RUN_LEASE_SECONDS; default 15)")
    public var runLeaseSeconds: Int?

    @Option(name: .customLong("event-partitions"), help: "Event partitions between workers and relays; all services must agree (HERALD_EVENT_PARTITIONS; default 8)")
    public var eventPartitions: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (HERALD_LOG_LEVEL; default info)")
    public var logLevel: String?

    public init() {}

    public func resolve(_ resolver: SettingsResolver = SettingsResolver()) throws -> CommonSettings {
        let url = resolver.string(redisURL, env: "HERALD_REDIS_URL", default: "redis://127.0.0.1:6379")
        let redis: RedisConfiguration
        do {
            redis = try RedisConfiguration(url: url)
        } catch {
            throw SettingError("HERALD_REDIS_URL: \(error)")
        }
        let prefix = resolver.string(keyPrefix, env: "HERALD_KEY_PREFIX", default: "herald")
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) else {
            throw SettingError("HERALD_KEY_PREFIX: '\(prefix)' may hold only letters, digits, '-', '_', '.' and ':'")
        }
        let levelText = resolver.string(logLevel, env: "HERALD_LOG_LEVEL", default: "info")
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw SettingError("HERALD_LOG_LEVEL: '\(levelText)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        return CommonSettings(
            redis: redis,
            keys: RedisKeys(prefix: prefix),
            logLevel: level,
            historySize: try resolver.int(historySize, env: "HERALD_HISTORY_SIZE", default: 1000, in: 1...1_000_000),
            historyTTLSeconds: try resolver.int(historyTTLSeconds, env: "HERALD_HISTORY_TTL_SECONDS", default: 86400, in: 1...31_536_000),
            threadRetentionDays: try resolver.int(threadRetentionDays, env: "HERALD_THREAD_RETENTION_DAYS", default: 30, in: 1...3650),
            runLeaseSeconds: try resolver.int(runLeaseSeconds, env: "HERALD_RUN_LEASE_SECONDS", default: 15, in: 1...3600),
            eventPartitions: try resolver.int(eventPartitions, env: "HERALD_EVENT_PARTITIONS", default: 8, in: 1...1024)
        )
    }
}
