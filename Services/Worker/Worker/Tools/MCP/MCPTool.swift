import Foundation
import HeraldProtocol
import MCP

/// A tool of an MCP server, offered like a built-in one: named `<server>.<tool>` in events, with the server's JSON
/// schema for its arguments, and run by calling the server (DESIGN.md section 11).
struct MCPTool: Tool {
    let name: String
    let description: String
    let parameters: JSONValue
    /// The tool's own name on its server.
    let remoteName: String
    let server: String
    let connection: MCPServerConnection
    let metrics: MCPMetrics

    init(_ tool: MCP.Tool, server: String, connection: MCPServerConnection, metrics: MCPMetrics) {
        self.name = "\(server).\(tool.name)"
        self.description = tool.description ?? tool.name
        self.parameters = Self.json(tool.inputSchema) ?? ["type": "object"]
        self.remoteName = tool.name
        self.server = server
        self.connection = connection
        self.metrics = metrics
    }

    func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let clock = ContinuousClock()
        let start = clock.now
        defer { metrics.latency(server).record(clock.now - start) }
        metrics.calls(server).increment()
        let result: CallTool.Result
        do {
            result = try await connection.call(remoteName, arguments: Self.value(arguments) ?? [:])
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as MCPServerConnection.Unavailable {
            metrics.errors(server).increment()
            throw ToolError(error.description)
        } catch {
            metrics.errors(server).increment()
            throw ToolError("the MCP server '\(server)' failed the call: \(error)")
        }
        let text = result.content.compactMap { content -> String? in
            if case .text(let text, _, _) = content { return text }
            return nil
        }
        if result.isError == true {
            metrics.errors(server).increment()
            throw ToolError(text.isEmpty ? "the tool reported an error" : text.joined(separator: "\n"))
        }
        if let structured = result.structuredContent, let json = Self.json(structured) {
            return json
        }
        var object: [String: JSONValue] = ["content": .string(text.joined(separator: "\n"))]
        let other = result.content.count - text.count
        if other > 0 { object["other_content"] = .number(Double(other)) }
        return .object(object)
    }

    /// The SDK's JSON value as Herald's (both are plain JSON).
    static func json(_ value: Value) -> JSONValue? {
        guard let data = try? JSONEncoder().encode(value) else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: data)
    }

    static func value(_ json: JSONValue) -> [String: Value]? {
        guard let data = try? JSONEncoder().encode(json) else { return nil }
        return try? JSONDecoder().decode([String: Value].self, from: data)
    }
}
