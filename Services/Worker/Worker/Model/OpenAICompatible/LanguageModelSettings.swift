import Foundation

/// Where and how the worker reaches an OpenAI-compatible chat-completions server (`HERALD_LLM_…`).
///
/// Its description names the model and the server, never the API key.
public struct LanguageModelSettings: Sendable, Equatable, CustomStringConvertible {
    /// The API root, without a trailing slash (`https://api.openai.com/v1`, `http://localhost:11434/v1`).
    public var baseURL: String
    /// Sent as `Authorization: Bearer …`; nil sends no `Authorization` (Ollama, llama.cpp).
    public var apiKey: String?
    /// The model's name on the server.
    public var model: String
    /// Time to open the connection (`HERALD_LLM_CONNECT_TIMEOUT_SECONDS`).
    public var connectTimeout: Duration
    /// Time from sending a request to the first streamed event (`HERALD_LLM_FIRST_TOKEN_TIMEOUT_SECONDS`).
    public var firstTokenTimeout: Duration
    /// Time one model call may take, retries and the whole stream included (`HERALD_LLM_RUN_TIMEOUT_SECONDS`).
    public var requestTimeout: Duration
    public var retry: ModelRetryPolicy
    /// The longest line of the event stream, and the most argument text of one tool call, in bytes.
    public var maximumLineBytes: Int
    /// The most bytes of an error response that are read for its message.
    public var maximumErrorBodyBytes: Int

    public init(
        baseURL: String,
        apiKey: String? = nil,
        model: String,
        connectTimeout: Duration = .seconds(10),
        firstTokenTimeout: Duration = .seconds(60),
        requestTimeout: Duration = .seconds(300),
        retry: ModelRetryPolicy = ModelRetryPolicy(),
        maximumLineBytes: Int = 1 << 20,
        maximumErrorBodyBytes: Int = 64 << 10
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.model = model
        self.connectTimeout = connectTimeout
        self.firstTokenTimeout = firstTokenTimeout
        self.requestTimeout = requestTimeout
        self.retry = retry
        self.maximumLineBytes = maximumLineBytes
        self.maximumErrorBodyBytes = maximumErrorBodyBytes
    }

    /// `POST` here: `{baseURL}/chat/completions`.
    public var endpoint: String { baseURL + "/chat/completions" }

    /// The base URL fit for logs: without a user name, password or query.
    public var displayBaseURL: String {
        guard var components = URLComponents(string: baseURL) else { return "(unreadable URL)" }
        components.user = nil
        components.password = nil
        components.query = nil
        return components.string ?? "(unreadable URL)"
    }

    public var description: String {
        "model \(model) at \(displayBaseURL)\(apiKey == nil ? "" : " (with an API key)")"
    }

    /// The API root named by `text`: an `http` or `https` URL with a host. A trailing slash or
    /// `/chat/completions` (the endpoint pasted whole) is dropped. Nil when it is not such a URL.
    public static func normalizedBaseURL(_ text: String) -> String? {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty,
            components.fragment == nil
        else { return nil }
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        if trimmed.hasSuffix("/chat/completions") { trimmed.removeLast("/chat/completions".count) }
        return trimmed
    }
}
