/// The operator documents derived from the catalogue: `.env.example` and deploy/README.md's settings table.
/// `--print-env-example` and `--print-settings-table` print them; a test holds the committed files to them.
extension SettingsCatalogue {
    /// Where `.env.example` says it came from, and how it is used.
    static let envExampleHeader = [
        "# Herald settings for docker-compose.yml. Copy this file to .env and uncomment what you change:",
        "#   cp .env.example .env",
        "# Docker Compose reads .env by itself. A setting left commented out reaches the service empty, and",
        "# the service then uses the default shown here. Every line is `# NAME=default`.",
        "# The same names work as plain environment variables outside Docker; every executable also takes",
        "# them as flags (`herald-gateway --help`), and a flag wins over the environment.",
        "# A bad value stops the service at start with one line naming the setting (exit status \(badSettingExitCode)).",
        "# deploy/README.md explains each setting in more depth.",
        "# Generated from Shared/HeraldCore/SettingsCatalogue.swift by `herald-gateway --print-env-example`:",
        "# change the catalogue, not this file.",
    ]

    /// The part of every executable's `--help` after its flags.
    public static let helpDiscussion = """
        Each setting is a flag and an environment variable (shown beside the flag); a flag wins, and an empty \
        variable counts as unset. A bad value stops the executable at start with one line naming the setting \
        and exit status \(badSettingExitCode) (EX_CONFIG). deploy/README.md explains every setting.
        """

    /// docker-compose.yml's own knobs, which no Herald executable reads.
    static let composeOnlySection = [
        "# Image built and run for the three services.",
        "# DEPLOY_IMAGE=herald:local",
        "# Host port of the gateway (chat page and WebSocket at /ws).",
        "# DEPLOY_GATEWAY_PORT=8080",
        "# Host port of nginx in the `scaled` profile (two gateways behind it).",
        "# DEPLOY_NGINX_PORT=8081",
        "# Redis's memory limit (redis-server --maxmemory; 0 = none). At the limit Redis refuses writes",
        "# (noeviction): services retry, /readyz says 503, nothing already stored is lost.",
        "# DEPLOY_REDIS_MAXMEMORY=1gb",
        "# When Redis fsyncs its append-only file: everysec (a crash of the Redis host may lose the last",
        "# second of writes) or always (nothing acknowledged is lost; every write waits for the disk).",
        "# DEPLOY_REDIS_APPENDFSYNC=everysec",
        "# Folder of the compose secrets jwt_secret, llm_api_key, mcp_servers (files; an empty one leaves its setting",
        "# unset). Keep real secrets outside the repository: deploy/README.md, \"Security\".",
        "# DEPLOY_SECRETS_DIR=./deploy/secrets",
    ]

    /// `.env.example`: every setting, commented out, with its default and meaning.
    public static var envExample: String {
        var lines = envExampleHeader
        lines += ["", sectionHeading("Compose only (not read by Herald itself)")] + composeOnlySection
        for section in sections {
            lines += ["", sectionHeading(section.title)]
            for setting in section.settings {
                lines += setting.example.map { $0.isEmpty ? "#" : "# \($0)" }
                lines.append("# \(setting.name)=\(setting.exampleValue ?? setting.defaultValue(for: setting.services.first) ?? "")")
                if setting.isSecret {
                    lines.append("# \(setting.fileVariableName)=/run/secrets/herald_\(setting.name.dropFirst("HERALD_".count).lowercased())")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// deploy/README.md's settings table (markdown).
    public static var settingsTable: String {
        var lines = ["| setting | flag | default | allowed | service | meaning |", "|---|---|---|---|---|---|"]
        for setting in all {
            let cells = [
                "`\(setting.name)`", "`--\(setting.flag)`", defaultCell(setting), allowedCell(setting),
                setting.services.map(\.rawValue).joined(separator: ", "),
                setting.isSecret ? setting.guide + "; a secret: or `\(setting.fileVariableName)`, a file holding it" : setting.guide,
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func sectionHeading(_ title: String) -> String {
        let start = "# ---- \(title) "
        return start + String(repeating: "-", count: max(4, 96 - start.count))
    }

    private static func defaultCell(_ setting: SettingSpec) -> String {
        let values = setting.services.compactMap { service in setting.defaultValue(for: service).map { (service, $0) } }
        let distinct = Set(values.map(\.1))
        var cell: String
        if distinct.count > 1 {
            cell = values.map { "`\($0.1)` (\($0.0.rawValue))" }.joined(separator: ", ")
        } else if let value = distinct.first {
            cell = "`\(value)`"
        } else {
            cell = "unset"
        }
        let remarks = [setting.defaultValue == nil ? setting.whenUnset : nil, setting.defaultNote].compactMap { $0 }
        if !remarks.isEmpty {
            cell += " (\(remarks.joined(separator: "; ")))"
        }
        return cell
    }

    private static func allowedCell(_ setting: SettingSpec) -> String {
        guard let range = setting.range else { return "text" }
        return "\(range.lowerBound)–\(range.upperBound)"
    }
}
