import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A real HTTP client for the gateway's server-sent-event endpoints (`/agui`, `/api/chat`): sends a request and reads
/// the answer's events as they arrive, or the JSON error a refused request gets.
public final class SSETestClient: Sendable {
    /// An answer: its status and headers, and its server-sent events' `data` lines in order.
    public struct Answer: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        /// The body as it arrived, for an answer that is not an event stream.
        public var body: String
        public var events: [String]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    private let client: HTTPClient
    private let port: Int

    public init(port: Int) {
        self.port = port
        client = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends `method` to `path` with `body` and reads the answer to its end, or until `until` says an event is the
    /// last one wanted (then the stream is dropped, as a client that goes away would).
    public func send(
        _ method: HTTPMethod,
        _ path: String,
        json body: String? = nil,
        headers: [String: String] = [:],
        timeout: TimeAmount = .seconds(60),
        until stop: @Sendable (String) -> Bool = { _ in false }
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: timeout)
        var answer = Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: "", events: [])
        var pending = ""
        readLoop: for try await chunk in response.body {
            let text = String(buffer: chunk)
            answer.body += text
            pending += text
            while let end = pending.range(of: "\n\n") {
                let block = pending[..<end.lowerBound]
                pending = String(pending[end.upperBound...])
                for line in block.split(separator: "\n") where line.hasPrefix("data: ") {
                    let data = String(line.dropFirst(6))
                    answer.events.append(data)
                    if stop(data) { break readLoop }
                }
            }
        }
        return answer
    }
}
