import ArgumentParser
import Foundation
import Logging
import Redis

/// A setting that is missing or malformed; its description is the one line printed at start.
public struct SettingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// An error about `setting`, named first so the line says which one to fix.
    public init(_ setting: SettingSpec, _ problem: String) {
        self.description = "\(setting.name): \(problem)"
    }
}

/// Resolves settings as their `SettingSpec`s describe: the flag when given, else the environment variable when
/// set and not empty, else the default. A secret setting may instead name a file that holds its value, in
/// `<NAME>_FILE` (compose and Kubernetes secrets), so the value never sits in the environment.
public struct SettingsResolver: Sendable {
    public let environment: [String: String]
    private let readFile: @Sendable (String) throws -> Data

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        readFile: @escaping @Sendable (String) throws -> Data = { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    ) {
        self.environment = environment
        self.readFile = readFile
    }

    /// The flag, else the environment's non-empty value, else (for a secret) the file `<NAME>_FILE` names; nil when
    /// none gives one. An empty flag counts as given.
    public func text(_ setting: SettingSpec, flag: String?) throws -> String? {
        if let flag { return flag }
        let fromEnvironment = environment[setting.name].flatMap { $0.isEmpty ? nil : $0 }
        guard setting.isSecret, let path = environment[setting.fileVariableName], !path.isEmpty else { return fromEnvironment }
        let contents: Data
        do {
            contents = try readFile(path)
        } catch {
            throw SettingError("\(setting.fileVariableName): cannot read '\(path)': \(Self.reason(error))")
        }
        // Files written by editors and `echo` end with a newline that is not part of the secret.
        let value = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .newlines)
        // An empty file is unset, as an empty variable is: compose mounts a secret's file whether or not it was filled.
        guard !value.isEmpty else { return fromEnvironment }
        guard fromEnvironment == nil else {
            throw SettingError(setting, "set it or \(setting.fileVariableName), not both")
        }
        return value
    }

    /// The setting's text, or its default in `service`; empty if it has neither.
    public func string(_ setting: SettingSpec, flag: String?, service: SettingSpec.Service? = nil) throws -> String {
        try text(setting, flag: flag) ?? setting.defaultValue(for: service) ?? ""
    }

    /// The setting's text; nil when unset (a setting whose unset means something of its own).
    public func optionalString(_ setting: SettingSpec, flag: String?) throws -> String? {
        try text(setting, flag: flag)
    }

    /// Foundation's file errors describe themselves in a sentence of their own; the POSIX reason is the useful part.
    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError { return "no such file" }
        return nsError.localizedDescription
    }

    /// The setting as a whole number within its range; a bad value throws a `SettingError` naming the setting.
    public func int(_ setting: SettingSpec, flag: String?, service: SettingSpec.Service? = nil) throws -> Int {
        guard let text = try text(setting, flag: flag) ?? setting.defaultValue(for: service) else {
            throw SettingError(setting, "has no value and no default")
        }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw SettingError(setting, "'\(text)' is not a whole number")
        }
        if let range = setting.range, !range.contains(value) {
            throw SettingError(setting, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
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
        redis: RedisConfiguration,
        keys: RedisKeys,
        logLevel: Logger.Level = .info,
        historySize: Int = 1000,
        historyTTLSeconds: Int = 86400,
        threadRetentionDays: Int = 30,
        runLeaseSeconds: Int = 15,
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

/// Resolves an executable's settings. Any error is a bad setting: it prints one line naming the setting and
/// ends the executable with `SettingsCatalogue.badSettingExitCode`, whichever executable and setting it is.
public func resolveSettings<T>(of executable: String, _ resolve: () throws -> T) throws -> T {
    do {
        return try resolve()
    } catch {
        FileHandle.standardError.write(Data("\(executable): invalid setting \(error)\n".utf8))
        throw ExitCode(SettingsCatalogue.badSettingExitCode)
    }
}
