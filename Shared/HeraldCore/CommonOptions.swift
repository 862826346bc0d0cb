import ArgumentParser
import Logging
import Redis

extension ArgumentHelp {
    /// The `--help` line of `setting` in `service`, from its description in the catalogue.
    public static func setting(_ setting: SettingSpec, in service: SettingSpec.Service? = nil) -> ArgumentHelp {
        ArgumentHelp(setting.helpLine(for: service))
    }
}

extension NameSpecification {
    /// The flag of `setting`, from its description in the catalogue.
    public static func setting(_ setting: SettingSpec) -> NameSpecification {
        .customLong(setting.flag)
    }
}

/// Flags every executable takes; each falls back to its `HERALD_…` environment variable. Values are taken as
/// text and checked against the catalogue, so a bad flag is refused like a bad variable.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(name: .setting(.redisURL), help: .setting(.redisURL))
    public var redisURL: String?

    @Option(name: .setting(.redisTLSCAFile), help: .setting(.redisTLSCAFile))
    public var redisTLSCAFile: String?

    @Option(name: .setting(.redisTLSCertFile), help: .setting(.redisTLSCertFile))
    public var redisTLSCertFile: String?

    @Option(name: .setting(.redisTLSKeyFile), help: .setting(.redisTLSKeyFile))
    public var redisTLSKeyFile: String?

    @Option(name: .setting(.redisTLSServerName), help: .setting(.redisTLSServerName))
    public var redisTLSServerName: String?

    @Option(name: .setting(.keyPrefix), help: .setting(.keyPrefix))
    public var keyPrefix: String?

    @Option(name: .setting(.historySize), help: .setting(.historySize))
    public var historySize: String?

    @Option(name: .setting(.historyTTLSeconds), help: .setting(.historyTTLSeconds))
    public var historyTTLSeconds: String?

    @Option(name: .setting(.threadRetentionDays), help: .setting(.threadRetentionDays))
    public var threadRetentionDays: String?

    @Option(name: .setting(.runLeaseSeconds), help: .setting(.runLeaseSeconds))
    public var runLeaseSeconds: String?

    @Option(name: .setting(.eventPartitions), help: .setting(.eventPartitions))
    public var eventPartitions: String?

    @Option(name: .setting(.logLevel), help: .setting(.logLevel))
    public var logLevel: String?

    /// Prints `.env.example` as the catalogue describes it and exits; how the committed file is made.
    @Flag(name: .customLong("print-env-example"), help: .hidden)
    public var printEnvExample = false

    /// Prints deploy/README.md's settings table as the catalogue describes it and exits.
    @Flag(name: .customLong("print-settings-table"), help: .hidden)
    public var printSettingsTable = false

    public init() {}

    /// The operator document a hidden flag asked for, to print instead of starting; nil to start.
    public var requestedDocument: String? {
        if printEnvExample { return SettingsCatalogue.envExample }
        if printSettingsTable { return SettingsCatalogue.settingsTable }
        return nil
    }

    public func resolve(_ resolver: SettingsResolver = SettingsResolver()) throws -> CommonSettings {
        let url = try resolver.string(.redisURL, flag: redisURL)
        var redis: RedisConfiguration
        do {
            redis = RedisConfiguration(url: try RedisURL(url))
        } catch {
            throw SettingError(.redisURL, "\(error)")
        }
        redis.tls = try redisTLS(for: redis.url, resolver)
        let prefix = try resolver.string(.keyPrefix, flag: keyPrefix)
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) else {
            throw SettingError(.keyPrefix, "'\(prefix)' may hold only letters, digits, '-', '_', '.' and ':'")
        }
        let levelText = try resolver.string(.logLevel, flag: logLevel)
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw SettingError(.logLevel, "'\(levelText)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        return CommonSettings(
            redis: redis,
            keys: RedisKeys(prefix: prefix),
            logLevel: level,
            historySize: try resolver.int(.historySize, flag: historySize),
            historyTTLSeconds: try resolver.int(.historyTTLSeconds, flag: historyTTLSeconds),
            threadRetentionDays: try resolver.int(.threadRetentionDays, flag: threadRetentionDays),
            runLeaseSeconds: try resolver.int(.runLeaseSeconds, flag: runLeaseSeconds),
            eventPartitions: try resolver.int(.eventPartitions, flag: eventPartitions)
        )
    }
}
