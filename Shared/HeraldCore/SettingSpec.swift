/// One setting, described once: its environment variable and flag, the services that read it, its values and
/// default, and what it means. Parsing, validation, `--help`, `.env.example` and deploy/README.md's settings
/// table are all derived from these descriptions (`SettingsCatalogue`).
public struct SettingSpec: Sendable, Hashable, CustomStringConvertible {
    /// A Herald executable that reads settings.
    public enum Service: String, Sendable, Hashable, CaseIterable {
        case gateway, worker, relay
    }

    /// The values a setting takes.
    public enum Value: Sendable, Hashable {
        /// A whole number within the range.
        case integer(ClosedRange<Int>)
        /// Text, checked (if at all) by the service that reads it.
        case text
    }

    /// The environment variable, `HERALD_…`.
    public let name: String
    /// The flag's long name, without the leading `--`.
    public let flag: String
    /// The executables that read it.
    public let services: [Service]
    public let value: Value
    /// The value used when neither the flag nor the environment gives one; nil when unset has its own meaning.
    public let defaultValue: String?
    /// Defaults that differ for some services from `defaultValue`.
    public let serviceDefaults: [Service: String]
    /// What an unset setting means, when it has no plain default value.
    public let whenUnset: String?
    /// A remark on the default, shown beside it in deploy/README.md (markdown).
    public let defaultNote: String?
    /// The flag's `--help` line, without the variable and default that are added to it.
    public let help: String
    /// The meaning column of deploy/README.md's settings table (markdown).
    public let guide: String
    /// The comment lines above the setting in `.env.example`; empty to share the previous setting's.
    public let example: [String]
    /// The value `.env.example` shows when it is not the default (the one docker-compose.yml supplies).
    public let exampleValue: String?
    /// Whether the value is a secret (a key, a password): it may come from the file `<NAME>_FILE` names instead.
    public let isSecret: Bool

    public init(
        name: String,
        flag: String,
        services: [Service],
        value: Value,
        default defaultValue: String? = nil,
        serviceDefaults: [Service: String] = [:],
        whenUnset: String? = nil,
        defaultNote: String? = nil,
        help: String,
        guide: String,
        example: [String] = [],
        exampleValue: String? = nil,
        secret: Bool = false
    ) {
        self.name = name
        self.flag = flag
        self.services = services
        self.value = value
        self.defaultValue = defaultValue
        self.serviceDefaults = serviceDefaults
        self.whenUnset = whenUnset
        self.defaultNote = defaultNote
        self.help = help
        self.guide = guide
        self.example = example
        self.exampleValue = exampleValue
        self.isSecret = secret
    }

    /// `<NAME>_FILE`: the variable naming a file that holds a secret setting's value.
    public var fileVariableName: String { name + "_FILE" }

    public var description: String { name }

    /// The default `service` uses; nil when unset has its own meaning.
    public func defaultValue(for service: Service?) -> String? {
        service.flatMap { serviceDefaults[$0] } ?? defaultValue
    }

    /// The allowed whole numbers, for an integer setting.
    public var range: ClosedRange<Int>? {
        if case .integer(let range) = value { return range }
        return nil
    }

    /// The `--help` line of the flag in `service`: the help, the variable, the default and the allowed range.
    public func helpLine(for service: Service?) -> String {
        var parts = [name]
        if let value = defaultValue(for: service) {
            parts.append("default \(value)")
        } else if let whenUnset {
            parts.append("unset: \(whenUnset)")
        }
        if let range {
            parts.append("\(range.lowerBound) to \(range.upperBound)")
        }
        return "\(help) (\(parts.joined(separator: "; ")))"
    }
}

/// A group of settings under one heading of `.env.example`.
public struct SettingsSection: Sendable {
    public let title: String
    public let settings: [SettingSpec]

    public init(title: String, settings: [SettingSpec]) {
        self.title = title
        self.settings = settings
    }
}

/// Every setting Herald reads, and what is derived from them for operators.
public enum SettingsCatalogue {
    /// The exit status of an executable that refuses to start over a bad setting: EX_CONFIG from sysexits.h.
    public static let badSettingExitCode: Int32 = 78

    /// Every setting, in catalogue order.
    public static var all: [SettingSpec] { sections.flatMap(\.settings) }

    /// The settings `service` reads.
    public static func settings(of service: SettingSpec.Service) -> [SettingSpec] {
        all.filter { $0.services.contains(service) }
    }

    /// The setting named `name`, `HERALD_…`.
    public static func setting(named name: String) -> SettingSpec? {
        all.first { $0.name == name }
    }
}
