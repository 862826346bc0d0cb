import Foundation
import HeraldCore
import HeraldProtocol

/// One MCP server a worker talks to (DESIGN.md section 11), as `HERALD_MCP_SERVERS` or `HERALD_MCP_CONFIG` names it:
/// the shape of the common `mcpServers` configuration, `{"command", "args"?, "env"?}` or `{"url", "headers"?}`.
public struct MCPServerConfiguration: Sendable, Equatable {
    /// How the worker reaches the server.
    public enum Transport: Sendable, Equatable {
        /// A command the worker starts, speaking MCP over its stdin and stdout; `environment` adds to the worker's.
        case stdio(command: String, arguments: [String], environment: [String: String])
        /// A Streamable HTTP endpoint; `headers` go with every request (an API key, say).
        case http(url: String, headers: [String: String])
    }

    /// Letters, digits, `_` and `-`: the prefix of the server's tools' names (`<server>.<tool>`).
    public var name: String
    public var transport: Transport

    public init(name: String, transport: Transport) {
        self.name = name
        self.transport = transport
    }

    /// A server started as `command`.
    public init(name: String, command: String, arguments: [String] = [], environment: [String: String] = [:]) {
        self.init(name: name, transport: .stdio(command: command, arguments: arguments, environment: environment))
    }

    /// Why an entry cannot be used, naming it.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The servers of a `HERALD_MCP_SERVERS` value: a JSON object mapping each name to its entry.
    public static func parse(servers text: String) throws(Invalid) -> [MCPServerConfiguration] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw Invalid(description: "is not JSON: a JSON object mapping each server's name to {\"command\", \"args\"?, \"env\"?}")
        }
        guard let object = value.objectValue else {
            throw Invalid(description: "must be a JSON object mapping each server's name to {\"command\", \"args\"?, \"env\"?}")
        }
        return try parse(entries: object)
    }

    /// The servers of a `HERALD_MCP_CONFIG` file's text: `{"mcpServers": {…}}`.
    public static func parse(configFile text: String) throws(Invalid) -> [MCPServerConfiguration] {
        guard let value = try? JSONValue.parse(text), let servers = value["mcpServers"]?.objectValue else {
            throw Invalid(description: "must hold a JSON object {\"mcpServers\": {…}}")
        }
        return try parse(entries: servers)
    }

    private static func parse(entries: [String: JSONValue]) throws(Invalid) -> [MCPServerConfiguration] {
        var servers: [MCPServerConfiguration] = []
        for name in entries.keys.sorted() {
            guard let entry = entries[name]?.objectValue else {
                throw Invalid(description: "entry '\(name)' must be a JSON object")
            }
            guard !name.isEmpty, name.utf8.count <= 32, name.utf8.allSatisfy(Self.isNameByte) else {
                throw Invalid(description: "entry '\(name)': a server's name is 1 to 32 letters, digits, '_' or '-'")
            }
            if let url = entry["url"] {
                guard entry["command"] == nil else { throw Invalid(description: "entry '\(name)' has both \"url\" and \"command\"; give one") }
                guard let text = url.stringValue, let parsed = URL(string: text), ["http", "https"].contains(parsed.scheme?.lowercased()),
                    parsed.host?.isEmpty == false
                else {
                    throw Invalid(description: "entry '\(name)': \"url\" must be an http:// or https:// URL with a host")
                }
                var headers: [String: String] = [:]
                if let given = entry["headers"], given != .null {
                    guard let object = given.objectValue else {
                        throw Invalid(description: "entry '\(name)': \"headers\" must be an object of strings")
                    }
                    for (key, value) in object {
                        guard let text = value.stringValue, !key.isEmpty, !(key + text).contains(where: { $0.isNewline || $0 == "\0" }) else {
                            throw Invalid(description: "entry '\(name)': \"headers\" must be an object of strings on one line (header '\(key)')")
                        }
                        headers[key] = text
                    }
                }
                servers.append(MCPServerConfiguration(name: name, transport: .http(url: text, headers: headers)))
                continue
            }
            guard let command = entry["command"]?.stringValue, !command.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw Invalid(description: "entry '\(name)' needs a \"command\" (a non-empty string)")
            }
            var arguments: [String] = []
            if let given = entry["args"], given != .null {
                guard case .array(let items) = given, let strings = Optional(items.compactMap(\.stringValue)), strings.count == items.count else {
                    throw Invalid(description: "entry '\(name)': \"args\" must be an array of strings")
                }
                arguments = strings
            }
            var environment: [String: String] = [:]
            if let given = entry["env"], given != .null {
                guard let object = given.objectValue else {
                    throw Invalid(description: "entry '\(name)': \"env\" must be an object of strings")
                }
                for (key, value) in object {
                    guard let text = value.stringValue, !key.isEmpty, !key.contains("=") else {
                        throw Invalid(description: "entry '\(name)': \"env\" must be an object of strings (variable '\(key)')")
                    }
                    environment[key] = text
                }
            }
            servers.append(MCPServerConfiguration(name: name, command: command, arguments: arguments, environment: environment))
        }
        return servers
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2D
    }
}
