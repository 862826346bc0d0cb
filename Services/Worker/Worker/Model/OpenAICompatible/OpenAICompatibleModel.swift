import AsyncHTTPClient
import Foundation
import HeraldProtocol
import Logging
import NIOCore

/// A language model behind an OpenAI-compatible chat-completions API (OpenAI, Ollama, vLLM,
/// llama.cpp's server, LM Studio): `POST {base}/chat/completions` with `stream: true` and tools.
///
/// Text streams out as it arrives; tool calls once complete. Every failure ends the stream with a
/// `ModelError` whose message holds no secret: the server unreachable, an error status (429 and
/// 5xx are retried with backoff while nothing has streamed), a malformed or broken stream, or no
/// first event within `firstTokenTimeout`. Cancelling the consumer cancels the HTTP request, which
/// closes its connection. Call `shutdown()` once the model is no longer used.
public struct OpenAICompatibleModel: LanguageModel {
    public let settings: LanguageModelSettings
    private let client: HTTPClient
    private let logger: Logger

    public var name: String { settings.model }

    public init(settings: LanguageModelSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        let configuration = HTTPClient.Configuration(
            // A redirect would carry the API key to wherever it points: report it instead.
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(Int64(settings.connectTimeout.milliseconds)))
        )
        // No logger for the client: at debug level it would describe requests, and requests hold the key.
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Closes the client's connections; the model cannot be used afterwards.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelStreamEvent.self)
        let producer = Task {
            do {
                try await perform(request, into: continuation)
                continuation.finish()
            } catch let failure as ProviderFailure {
                var failure = failure
                failure.message = clean(failure.message)
                continuation.finish(throwing: failure.modelError)
            } catch {
                if error is CancellationError || Task.isCancelled {
                    continuation.finish(throwing: CancellationError())
                } else {
                    continuation.finish(throwing: ModelError(clean("\(error)")))
                }
            }
        }
        // The consumer stopped listening (its run was cancelled): stop the request with it.
        continuation.onTermination = { _ in producer.cancel() }
        return stream
    }

    // MARK: Attempts

    /// Runs the request, trying again after transient failures that came before any output,
    /// as long as the pause fits in the request's time.
    private func perform(_ request: ModelRequest, into continuation: AsyncThrowingStream<ModelStreamEvent, any Error>.Continuation) async throws {
        let body = ChatCompletionRequestBody.json(for: request, model: settings.model).jsonString()
        let clock = ContinuousClock()
        let deadline = clock.now + settings.requestTimeout
        var retries = 0
        while true {
            do {
                try await attempt(body, deadline: deadline, into: continuation)
                return
            } catch var failure as ProviderFailure {
                try Task.checkCancellation()
                let delay = settings.retry.delay(beforeRetry: retries + 1, retryAfter: failure.retryAfter)
                guard failure.transient, retries < settings.retry.maximumRetries, clock.now + delay < deadline else {
                    if retries > 0 { failure.message += " (after \(retries + 1) attempts)" }
                    logger.notice("model request failed", metadata: metadata(["error": "\(clean(failure.message))"]))
                    throw failure
                }
                retries += 1
                logger.notice(
                    "model request failed; trying again",
                    metadata: metadata([
                        "error": "\(clean(failure.message))", "retry": "\(retries)", "delay_ms": "\(delay.milliseconds)",
                    ])
                )
                try await Task.sleep(for: delay)
            }
        }
    }

    private enum AttemptSignal: Sendable {
        case finished, firstTokenDue, deadlineReached
    }

    /// One request, raced against the first-token timeout and the request's deadline.
    private func attempt(
        _ body: String,
        deadline: ContinuousClock.Instant,
        into continuation: AsyncThrowingStream<ModelStreamEvent, any Error>.Continuation
    ) async throws {
        let progress = StreamProgress()
        let firstTokenTimeout = settings.firstTokenTimeout
        try await withThrowingTaskGroup(of: AttemptSignal.self) { group in
            group.addTask {
                try await exchange(body, progress: progress, into: continuation)
                return .finished
            }
            group.addTask {
                try await Task.sleep(for: firstTokenTimeout)
                return .firstTokenDue
            }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                return .deadlineReached
            }
            while let signal = try await group.next() {
                switch signal {
                case .finished:
                    group.cancelAll()
                    return
                case .firstTokenDue:
                    guard await progress.started else {
                        group.cancelAll()
                        logger.notice(
                            "the model server sent nothing in time",
                            metadata: metadata(["setting": "HERALD_LLM_FIRST_TOKEN_TIMEOUT_SECONDS"])
                        )
                        throw ProviderFailure(
                            "the model server sent nothing within \(ToolDispatcher.describe(firstTokenTimeout)) of the request",
                            transient: false
                        )
                    }
                case .deadlineReached:
                    group.cancelAll()
                    logger.notice("the model's answer took too long", metadata: metadata(["setting": "HERALD_LLM_RUN_TIMEOUT_SECONDS"]))
                    throw ProviderFailure("the model's answer took longer than \(ToolDispatcher.describe(settings.requestTimeout))", transient: false)
                }
            }
        }
    }

    // MARK: The HTTP exchange

    /// Sends the request and streams the answer into `continuation`.
    private func exchange(
        _ body: String,
        progress: StreamProgress,
        into continuation: AsyncThrowingStream<ModelStreamEvent, any Error>.Continuation
    ) async throws {
        var request = HTTPClientRequest(url: settings.endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.headers.add(name: "User-Agent", value: "herald-worker")
        if let key = settings.apiKey {
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        request.body = .bytes(ByteBuffer(string: body))

        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .now() + .milliseconds(Int64(settings.requestTimeout.milliseconds)))
        } catch {
            try Task.checkCancellation()
            throw ProviderFailure("cannot reach the model server (\(Self.describe(error)))", transient: true)
        }
        guard (200..<300).contains(response.status.code) else {
            throw await failure(of: response)
        }
        if let type = response.headers.first(name: "content-type"), type.lowercased().contains("application/json") {
            // The server ignored `stream: true` or answered an error with 200.
            let text = await Self.collect(response.body, limit: settings.maximumErrorBodyBytes)
            throw ProviderFailure("the model server answered without streaming: \(ProviderText.message(inBody: text))", transient: false)
        }

        var parser = ServerSentEventParser(maximumLineBytes: settings.maximumLineBytes)
        var decoder = ChatCompletionStreamDecoder(maximumArgumentBytes: settings.maximumLineBytes)
        var started = false
        var yielded = false
        func take(_ events: [ServerSentEvent]) async throws {
            for event in events where !decoder.isDone {
                if !started {
                    started = true
                    await progress.start()
                }
                for output in try decoder.decode(event) {
                    continuation.yield(output)
                    yielded = true
                }
            }
        }
        do {
            for try await piece in response.body {
                try await take(try parser.feed(piece.readableBytesView))
                // Nothing follows `[DONE]`; not waiting for the body's end spares a server that keeps it open.
                if decoder.isDone { break }
            }
            try Task.checkCancellation()
            try await take(parser.finish())
            for output in try decoder.finish() {
                continuation.yield(output)
            }
        } catch var failure as ProviderFailure {
            // Text already shown cannot be taken back, so a retry would repeat it.
            if yielded { failure.transient = false }
            throw failure
        } catch let error as ServerSentEventLineTooLong {
            throw ProviderFailure("the model server sent a malformed stream (\(error))", transient: false)
        } catch {
            try Task.checkCancellation()
            throw ProviderFailure("the connection to the model server broke mid-answer (\(Self.describe(error)))", transient: !yielded)
        }
    }

    /// The failure an error status stands for, with the server's own message.
    private func failure(of response: HTTPClientResponse) async -> ProviderFailure {
        let status = Int(response.status.code)
        let text = await Self.collect(response.body, limit: settings.maximumErrorBodyBytes)
        var message = "the model server answered HTTP \(status)"
        let reason = response.status.reasonPhrase
        if !reason.isEmpty { message += " \(reason)" }
        if (300..<400).contains(status), let location = response.headers.first(name: "location") {
            message += "; it redirects to \(location), so HERALD_LLM_BASE_URL should say that"
        }
        let detail = ProviderText.message(inBody: text).trimmingCharacters(in: .whitespacesAndNewlines)
        if !detail.isEmpty { message += ": \(detail)" }
        return ProviderFailure(
            message,
            transient: status == 408 || status == 429 || status >= 500,
            retryableByUser: ![400, 401, 403, 404, 405, 422].contains(status),
            retryAfter: ModelRetryPolicy.retryAfter(header: response.headers.first(name: "retry-after"))
        )
    }

    /// Up to `limit` bytes of a body as text; whatever arrived when reading it fails.
    private static func collect(_ body: HTTPClientResponse.Body, limit: Int) async -> String {
        var bytes: [UInt8] = []
        do {
            for try await piece in body {
                bytes += piece.readableBytesView.prefix(limit - bytes.count)
                if bytes.count >= limit { break }
            }
        } catch {
            // A partial body still names the problem better than none.
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An HTTP client or network error in words.
    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connecting timed out"
            case .remoteConnectionClosed: return "the server closed the connection"
            case .readTimeout: return "reading timed out"
            case .deadlineExceeded: return "the request's time ran out"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    private func clean(_ text: String) -> String {
        ProviderText.clean(text, secrets: settings.apiKey.map { [$0] } ?? [])
    }

    /// Log metadata naming the server and model; the API key is never logged.
    private func metadata(_ extra: Logger.Metadata) -> Logger.Metadata {
        extra.merging(["base_url": "\(settings.displayBaseURL)", "model": "\(settings.model)"]) { $1 }
    }
}

/// Whether an attempt's stream has produced its first event, for the first-token timeout.
private actor StreamProgress {
    private(set) var started = false

    func start() {
        started = true
    }
}
