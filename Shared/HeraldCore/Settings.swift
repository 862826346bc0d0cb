import Foundation
import Logging
import Redis

/// A setting that is missing or malformed; its description is the one line printed at start.
public struct SettingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Resolves settings from flags first, then the environment, then the default.
public struct SettingsResolver: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public func string(_ flag: String?, env: String, default value: String) -> String {
        if let flag { return flag }
        if let fromEnvironment = environment[env], !fromEnvironment.isEmpty { return fromEnvironment }
        return value
    }

    public func optionalString(_ flag: String?, env: String) -> String? {
        if let flag { return flag }
        if let fromEnvironment = environment[env], !fromEnvironment.isEmpty { return fromEnvironment }
        return nil
    }

    public func int(_ flag: Int?, env: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        let resolved: Int
        if let flag {
            resolved = flag
        } else if let text = environment[env], !text.isEmpty {
            guard let parsed = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw SettingError("\(env): '\(text)' is not a whole number")
            }
            resolved = parsed
        } else {
            resolved = value
        }
        guard range.contains(resolved) else {
            throw SettingError("\(env): \(resolved) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return resolved
    }
}

/// Settings every service shares: where Redis is, the key prefix, the thread log's limits.
public struct CommonSettings: Sendable {
    public var redis: RedisConfiguration
    public var keys: RedisKeys
    public var logLevel: Logger.Level
    /// Events kept per thread (`HERALD_HISTORY_SIZE`).
    public var historySize: Int
    /// Seconds a thread's log and state live after its last event (`HERALD_HISTORY_TTL_SECONDS`).
    public var historyTTLSeconds: Int
    /// Days a thread's record and messages live after its last run (`HERALD_THREAD_RETENTION_DAYS`), independent of
    /// the event history's size and TTL.
    public var threadRetentionDays: Int
    /// `threadRetentionDays` in seconds, as Redis expiries take it.
    public var threadRetentionSeconds: Int { threadRetentionDays * 86400 }
    /// Seconds a worker's hold on a run lasts without renewal (`HERALD_RUN_LEASE_SECONDS`).
    public var runLeaseSeconds: Int
    /// Number of event partitions between workers and relays (`HERALD_EVENT_PARTITIONS`); every service must agree.
    public var eventPartitions: Int

    public init(
        redis: RedisConfiguration, keys: RedisKeys, logLevel: Logger.Level = .info, historySize: Int = 1000, historyTTLSeconds: Int = 86400, threadRetentionDays: Int = 30, runLeaseSeconds: Int = 15,
        eventPartitions: Int = 8
    ) {
        self.redis = redis
        self.keys = keys
        self.logLevel = logLevel
        self.historySize = historySize
        self.historyTTLSeconds = historyTTLSeconds
        self.threadRetentionDays = threadRetentionDays
        self.runLeaseSeconds = runLeaseSeconds
        self.eventPartitions = eventPartitions
    }
}

/// Resolves an executable's settings; on a bad one prints a single line naming it and exits with
/// EX_CONFIG (78), as operators expect from a service that refuses to start.
public func resolveSettingsOrExit<T>(_ executable: String, _ resolve: () throws -> T) -> T {
    do {
        return try resolve()
    } catch {
        FileHandle.standardError.write(Data("\(executable): invalid setting: \(error)\n".utf8))
        exit(78)
    }
}
