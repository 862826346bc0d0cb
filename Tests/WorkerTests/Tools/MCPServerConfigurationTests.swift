import Testing

@testable import Worker

@Suite struct MCPServerConfigurationTests {
    @Test func readsStdioEntriesOfBothSettings() throws {
        let servers = try MCPServerConfiguration.parse(
            servers:
                #"{"files": {"command": "python3", "args": ["files.py", "--root", "/srv"], "env": {"TOKEN": "x"}}, "git": {"command": "git-mcp"}}"#
        )
        #expect(
            servers == [
                MCPServerConfiguration(name: "files", command: "python3", arguments: ["files.py", "--root", "/srv"], environment: ["TOKEN": "x"]),
                MCPServerConfiguration(name: "git", command: "git-mcp"),
            ]
        )
        let fromFile = try MCPServerConfiguration.parse(
            configFile:
                #"{"mcpServers": {"notes": {"command": "notes-mcp", "args": []}, "web": {"url": "https://mcp.example/mcp", "headers": {"Authorization": "Bearer k"}}}}"#
        )
        #expect(
            fromFile == [
                MCPServerConfiguration(name: "notes", command: "notes-mcp"),
                MCPServerConfiguration(name: "web", transport: .http(url: "https://mcp.example/mcp", headers: ["Authorization": "Bearer k"])),
            ]
        )
        #expect(try MCPServerConfiguration.parse(servers: "{}").isEmpty)
    }

    @Test(arguments: [
        ("not json", "is not JSON"),
        ("[1]", "must be a JSON object"),
        (#"{"a b": {"command": "x"}}"#, "entry 'a b'"),
        (#"{"files": "python3"}"#, "entry 'files' must be a JSON object"),
        (#"{"files": {}}"#, "entry 'files' needs a \"command\""),
        (#"{"files": {"command": "  "}}"#, "entry 'files' needs a \"command\""),
        (#"{"files": {"command": "x", "args": "a b"}}"#, "entry 'files': \"args\" must be an array of strings"),
        (#"{"files": {"command": "x", "args": [1]}}"#, "entry 'files': \"args\" must be an array of strings"),
        (#"{"files": {"command": "x", "env": {"A": 1}}}"#, "entry 'files': \"env\" must be an object of strings"),
        (#"{"web": {"url": "ftp://127.0.0.1/mcp"}}"#, "entry 'web': \"url\" must be an http:// or https:// URL"),
        (#"{"web": {"url": "http://h/mcp", "command": "x"}}"#, "entry 'web' has both"),
        (#"{"web": {"url": "http://h/mcp", "headers": {"X-Key": 5}}}"#, "entry 'web': \"headers\" must be an object of strings"),
    ])
    func aBadEntryIsNamed(text: String, message: String) {
        #expect {
            try MCPServerConfiguration.parse(servers: text)
        } throws: { error in
            (error as? MCPServerConfiguration.Invalid)?.description.contains(message) == true
        }
    }

    @Test func aConfigFileNeedsItsMCPServersObject() {
        #expect(throws: MCPServerConfiguration.Invalid.self) { try MCPServerConfiguration.parse(configFile: #"{"servers": {}}"#) }
    }

    @Test func modelsSeeValidNamesAndTheRegistryMapsThemBack() {
        #expect(ToolNames.modelSafe("files.read_file") == "files_read_file")
        #expect(ToolNames.modelSafe("calculator") == "calculator")
        #expect(ToolNames.modelSafe(String(repeating: "a", count: 80)).count == 64)
        let registry = ToolRegistry.standard(docs: .empty)
        #expect(registry.specs.map(\.name) == registry.names)
    }
}
