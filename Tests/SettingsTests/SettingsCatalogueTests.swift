import ArgumentParser
import Foundation
import Gateway
import HeraldCore
import Relay
import Testing
import Worker

@Suite("Settings catalogue")
struct SettingsCatalogueTests {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("names and flags are unique, and every setting is read by some service")
    func uniqueness() {
        let all = SettingsCatalogue.all
        #expect(Set(all.map(\.name)).count == all.count)
        #expect(Set(all.map(\.flag)).count == all.count)
        for setting in all {
            #expect(setting.name.hasPrefix("HERALD_"), "\(setting)")
            #expect(!setting.services.isEmpty, "\(setting)")
            #expect(setting.defaultValue != nil || setting.whenUnset != nil, "\(setting) says neither its default nor what unset means")
            #expect(!setting.help.isEmpty && !setting.guide.isEmpty, "\(setting)")
        }
    }

    @Test("every integer setting's default is a whole number within its range, in every service")
    func integerDefaults() throws {
        for setting in SettingsCatalogue.all {
            guard let range = setting.range else { continue }
            for service in setting.services {
                let value = try #require(setting.defaultValue(for: service).flatMap { Int($0) }, "\(setting) in \(service)")
                #expect(range.contains(value), "\(setting) in \(service): \(value)")
            }
        }
    }

    @Test("the flag wins, then a non-empty variable, then the default")
    func precedence() throws {
        let resolver = SettingsResolver(environment: ["HERALD_HISTORY_SIZE": "500", "HERALD_KEY_PREFIX": ""])
        #expect(try resolver.int(.historySize, flag: "700") == 700)
        #expect(try resolver.int(.historySize, flag: nil) == 500)
        #expect(try SettingsResolver(environment: [:]).int(.historySize, flag: nil) == 1000)
        #expect(try resolver.string(.keyPrefix, flag: nil) == "herald")
        #expect(try resolver.string(.keyPrefix, flag: "x") == "x")
        #expect(try resolver.optionalString(.jwtSecret, flag: nil) == nil)
        #expect(try resolver.int(.adminPort, flag: nil, service: .worker) == 9091)
        #expect(try resolver.int(.adminPort, flag: nil, service: .relay) == 9092)
    }

    @Test("a bad value names the setting and what it allows, whether it came from the flag or the environment")
    func badValues() {
        let resolver = SettingsResolver(environment: ["HERALD_EVENT_PARTITIONS": "0", "HERALD_HISTORY_SIZE": "many"])
        #expect(throws: SettingError.self) { try resolver.int(.eventPartitions, flag: nil) }
        do {
            _ = try resolver.int(.eventPartitions, flag: nil)
        } catch {
            #expect("\(error)" == "HERALD_EVENT_PARTITIONS: 0 is outside 1...1024")
        }
        do {
            _ = try resolver.int(.historySize, flag: nil)
        } catch {
            #expect("\(error)" == "HERALD_HISTORY_SIZE: 'many' is not a whole number")
        }
        do {
            _ = try resolver.int(.port, flag: "65536")
        } catch {
            #expect("\(error)" == "HERALD_PORT: 65536 is outside 0...65535")
        }
    }

    @Test("each executable's flags are exactly the catalogue's settings for it, and --help shows each with its variable")
    func options() {
        let executables: [(SettingSpec.Service, String)] = [
            (.gateway, GatewayOptions.helpMessage(columns: 1_000)),
            (.worker, WorkerOptions.helpMessage(columns: 1_000)),
            (.relay, RelayOptions.helpMessage(columns: 1_000)),
        ]
        for (service, help) in executables {
            let settings = SettingsCatalogue.settings(of: service)
            for setting in settings {
                #expect(help.contains("--\(setting.flag) "), "\(service) --help lacks --\(setting.flag)")
                #expect(help.contains(setting.helpLine(for: service)), "\(service) --help lacks \(setting)'s line")
            }
            let flags = Set(help.matches(of: /--([a-z0-9-]+) </).map { String($0.output.1) })
            #expect(flags == Set(settings.map(\.flag)), "\(service)")
        }
    }

    @Test("a flag with a bad value is refused like a bad variable, naming the setting")
    func badFlag() {
        #expect(throws: SettingError.self) { try GatewayOptions.parse(["--port", "http"]).resolve(SettingsResolver(environment: [:])) }
        #expect(throws: SettingError.self) { try RelayOptions.parse(["--batch", "0"]).resolve(SettingsResolver(environment: [:])) }
        #expect(throws: SettingError.self) {
            try WorkerOptions.parse(["--concurrency=-3"]).resolve(
                SettingsResolver(environment: [:]),
                currentDirectory: URL(fileURLWithPath: "/"),
                executable: nil
            )
        }
    }

    @Test(".env.example is the catalogue's (herald-gateway --print-env-example > .env.example)")
    func envExample() throws {
        let committed = try String(contentsOf: Self.repository.appendingPathComponent(".env.example"), encoding: .utf8)
        #expect(committed == SettingsCatalogue.envExample)
    }

    @Test("deploy/README.md's settings table is the catalogue's (herald-gateway --print-settings-table)")
    func settingsTable() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("deploy/README.md"), encoding: .utf8)
        let lines = readme.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.hasPrefix("| setting |") }, "deploy/README.md has no settings table")
        let end = lines[start...].firstIndex { !$0.hasPrefix("|") } ?? lines.endIndex
        #expect(lines[start..<end].joined(separator: "\n") + "\n" == SettingsCatalogue.settingsTable)
    }

    @Test("the relay's default live-run history matches its publisher's")
    func liveRunHistoryDefault() {
        #expect(SettingSpec.historyMaxRunBytes.defaultValue == String(EventPublisher.defaultLiveRunHistoryBytes))
    }
}
