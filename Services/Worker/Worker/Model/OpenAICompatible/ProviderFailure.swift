import Foundation
import HeraldProtocol

/// Why one attempt at a model request failed, and whether another attempt may help.
struct ProviderFailure: Error, Sendable, CustomStringConvertible {
    /// What the user reads after "the language model is unavailable: ", secrets already stripped.
    var message: String
    /// Worth another attempt when nothing was streamed yet: 408, 429, 5xx, a connection that failed.
    var transient: Bool
    /// Whether sending the message again later may succeed (`agent_error`'s `retryable`); false for
    /// refusals that stay until the configuration changes (401, 403, 404, 400).
    var retryableByUser: Bool
    /// The pause the server asked for (`Retry-After`, in seconds).
    var retryAfter: Duration?

    init(_ message: String, transient: Bool, retryableByUser: Bool = true, retryAfter: Duration? = nil) {
        self.message = message
        self.transient = transient
        self.retryableByUser = retryableByUser
        self.retryAfter = retryAfter
    }

    var description: String { message }

    var modelError: ModelError { ModelError(message, retryable: retryableByUser) }
}

/// Makes what a provider said fit to show: without secrets, on one line, not too long.
enum ProviderText {
    /// The most characters of a provider's message that reach an event or a log line.
    static let maximumCharacters = 300

    // Compiled once; Regex is immutable after construction, so sharing it is safe.
    nonisolated(unsafe) private static let bearer = #/(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]+/#
    nonisolated(unsafe) private static let openAIKey = #/\bsk-[A-Za-z0-9_\-*.]{6,}/#
    nonisolated(unsafe) private static let whitespace = #/\s+/#

    /// `text` with `secrets` and anything shaped like a bearer token or an OpenAI key replaced by
    /// `[redacted]`, whitespace collapsed, and cut at `limit` characters.
    static func clean(_ text: String, secrets: [String], limit: Int = maximumCharacters) -> String {
        var cleaned = text
        // Longest first, so a secret containing another is replaced whole.
        for secret in secrets.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            cleaned = cleaned.replacingOccurrences(of: secret, with: "[redacted]")
        }
        cleaned = cleaned.replacing(bearer, with: "Bearer [redacted]")
        cleaned = cleaned.replacing(openAIKey, with: "sk-[redacted]")
        cleaned = cleaned.replacing(whitespace, with: " ").trimmingCharacters(in: .whitespaces)
        guard cleaned.count > limit else { return cleaned }
        return cleaned.prefix(limit).trimmingCharacters(in: .whitespaces) + "…"
    }

    /// The message inside an error body: `{"error":{"message":…}}` (OpenAI, llama.cpp),
    /// `{"error":"…"}` (Ollama), `{"message":…}` or `{"detail":…}` (vLLM, FastAPI), else the text itself.
    static func message(inBody body: String) -> String {
        guard let value = try? JSONValue.parse(body) else { return body }
        return message(in: value) ?? body
    }

    /// The message of an error value found in a body or a stream event, if it holds one.
    static func message(in value: JSONValue) -> String? {
        if let text = value.stringValue { return text }
        if let error = value["error"], let text = message(in: error) { return text }
        for key in ["message", "detail", "msg"] {
            if let text = value[key]?.stringValue { return text }
        }
        if case .array(let items)? = value["detail"], let first = items.first, let text = message(in: first) {
            return text
        }
        return nil
    }
}
