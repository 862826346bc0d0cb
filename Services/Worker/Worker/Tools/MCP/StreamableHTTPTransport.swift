import AsyncHTTPClient
import Foundation
import Logging
import MCP
import NIOCore
import NIOHTTP1

/// MCP's Streamable HTTP transport, client side, for the official Swift SDK's `Client`: each message is a `POST` to
/// the endpoint, and the reply comes as JSON or as a stream of server-sent events, both read as they arrive.
///
/// Herald's own, not the SDK's `HTTPClientTransport`: on Linux that one reads a reply whole through URLSession and
/// cannot read a reply streamed as server-sent events (its `EventSource` dependency is Apple-only), so a call to a
/// server that streams its replies never ends (seen with the official Python SDK's servers). This one streams with
/// AsyncHTTPClient and Herald's `ServerSentEventParser`. It keeps the `Mcp-Session-Id` the server assigns and the
/// protocol version it agreed to; it does not open the optional `GET` stream for messages the server starts itself.
actor StreamableHTTPTransport: Transport {
    nonisolated let logger: Logger
    private let endpoint: String
    private let headers: [String: String]
    private let client: HTTPClient
    private var sessionID: String?
    private var protocolVersion: String?
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    /// The longest reply read, in bytes.
    static let maximumReplyBytes = 16 << 20

    init(endpoint: String, headers: [String: String], logger: Logger) {
        self.endpoint = endpoint
        self.headers = headers
        self.logger = logger
        self.client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10)))
        )
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {}

    func disconnect() async {
        continuation.finish()
        if let sessionID {
            var request = HTTPClientRequest(url: endpoint)
            request.method = .DELETE
            request.headers.add(name: "Mcp-Session-Id", value: sessionID)
            _ = try? await client.execute(request, timeout: .seconds(2))
        }
        try? await client.shutdown()
    }

    func receive() -> AsyncThrowingStream<Data, any Error> {
        messages
    }

    func send(_ data: Data) async throws {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        if let sessionID { request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: sessionID) }
        if let protocolVersion { request.headers.replaceOrAdd(name: "MCP-Protocol-Version", value: protocolVersion) }
        request.body = .bytes(ByteBuffer(bytes: data))
        let response = try await client.execute(request, timeout: .seconds(86_400))
        if let assigned = response.headers.first(name: "Mcp-Session-Id") { sessionID = assigned }
        guard (200..<300).contains(response.status.code) else {
            let body = try? await response.body.collect(upTo: 4096)
            throw MCPError.internalError("HTTP \(response.status.code) from the MCP server: \(body.map { String(buffer: $0) } ?? "")")
        }
        let contentType = response.headers.first(name: "Content-Type") ?? ""
        if contentType.contains("text/event-stream") {
            var parser = ServerSentEventParser()
            for try await piece in response.body {
                for event in try parser.feed(piece.readableBytesView) where !event.data.isEmpty {
                    deliver(Data(event.data.utf8))
                }
            }
            for event in parser.finish() where !event.data.isEmpty { deliver(Data(event.data.utf8)) }
        } else if contentType.contains("application/json") {
            let body = try await response.body.collect(upTo: Self.maximumReplyBytes)
            if body.readableBytes > 0 { deliver(Data(body.readableBytesView)) }
        }
        // 202 Accepted (a notification or a response the client sent): no body.
    }

    private func deliver(_ message: Data) {
        if protocolVersion == nil, let version = Self.agreedVersion(in: message) { protocolVersion = version }
        continuation.yield(message)
    }

    /// The protocol version of an `initialize` result, which later requests name in `MCP-Protocol-Version`.
    private static func agreedVersion(in message: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: message) as? [String: Any],
            let result = object["result"] as? [String: Any], result["serverInfo"] != nil
        else { return nil }
        return result["protocolVersion"] as? String
    }
}
