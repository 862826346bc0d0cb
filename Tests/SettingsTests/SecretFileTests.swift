import Foundation
import HeraldCore
import Testing

@Suite("Secrets from files")
struct SecretFileTests {
    private func file(_ contents: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("herald-secret-\(UUID().uuidString)")
        try Data(contents.utf8).write(to: url)
        return url.path
    }

    @Test("every secret setting reads <NAME>_FILE, without the file's final newline; the flag still wins")
    func secretsFromFiles() throws {
        let secrets = SettingsCatalogue.all.filter(\.isSecret)
        #expect(Set(secrets.map(\.name)).isSuperset(of: ["HERALD_REDIS_URL", "HERALD_JWT_SECRET", "HERALD_LLM_API_KEY", "HERALD_MCP_SERVERS"]))
        for setting in secrets {
            let path = try file("value-of-\(setting.name)\n")
            defer { try? FileManager.default.removeItem(atPath: path) }
            let resolver = SettingsResolver(environment: [setting.fileVariableName: path])
            #expect(try resolver.optionalString(setting, flag: nil) == "value-of-\(setting.name)")
            #expect(try resolver.optionalString(setting, flag: "from-flag") == "from-flag")
        }
        let crlf = try file("line one\r\n")
        #expect(try SettingsResolver(environment: ["HERALD_JWT_SECRET_FILE": crlf]).optionalString(.jwtSecret, flag: nil) == "line one")
    }

    @Test("a setting that is not a secret ignores <NAME>_FILE")
    func onlySecrets() throws {
        let path = try file("other")
        let resolver = SettingsResolver(environment: ["HERALD_KEY_PREFIX_FILE": path])
        #expect(try resolver.string(.keyPrefix, flag: nil) == "herald")
    }

    @Test("an empty file is unset, as an empty variable is: the variable (or the default) holds")
    func emptyFile() throws {
        let empty = try file("\n")
        #expect(try SettingsResolver(environment: ["HERALD_JWT_SECRET_FILE": empty]).optionalString(.jwtSecret, flag: nil) == nil)
        #expect(
            try SettingsResolver(environment: ["HERALD_JWT_SECRET_FILE": empty, "HERALD_JWT_SECRET": "v"]).optionalString(.jwtSecret, flag: nil)
                == "v"
        )
        #expect(try SettingsResolver(environment: ["HERALD_REDIS_URL_FILE": empty]).string(.redisURL, flag: nil) == "redis://127.0.0.1:6379")
    }

    @Test("both given and a missing file each stop with one line naming the variable")
    func badFiles() throws {
        let filled = try file("from-file")
        let cases: [([String: String], String)] = [
            (["HERALD_JWT_SECRET": "x", "HERALD_JWT_SECRET_FILE": filled], "HERALD_JWT_SECRET: set it or HERALD_JWT_SECRET_FILE, not both"),
            (["HERALD_JWT_SECRET_FILE": "/nonexistent/secret"], "HERALD_JWT_SECRET_FILE: cannot read '/nonexistent/secret': no such file"),
        ]
        for (environment, line) in cases {
            #expect(throws: SettingError.self) { try SettingsResolver(environment: environment).optionalString(.jwtSecret, flag: nil) }
            do {
                _ = try SettingsResolver(environment: environment).optionalString(.jwtSecret, flag: nil)
            } catch {
                #expect("\(error)" == line)
            }
        }
    }
}
