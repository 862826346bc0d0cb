import Foundation
import HeraldProtocol

/// Turns the events of a streamed chat completion into `ModelStreamEvent`s: text as it comes, each
/// tool call once the choice finishes (or the stream ends), then the usage and `finish`.
///
/// Pure logic: the provider feeds it the parsed events and passes on what it returns. A stream is
/// complete after `data: [DONE]` or a `finish_reason`; one that ends with neither was cut off.
struct ChatCompletionStreamDecoder: Sendable {
    /// `data: [DONE]` arrived: nothing more is read.
    private(set) var isDone = false
    private var assembler: ToolCallAssembler
    private var finishReason: String?
    private var emittedToolCalls = false
    private var usage: ModelUsage?
    private let decoder = JSONDecoder()

    init(maximumArgumentBytes: Int = 1 << 20) {
        assembler = ToolCallAssembler(maximumArgumentBytes: maximumArgumentBytes)
    }

    /// What one event of the stream adds.
    mutating func decode(_ event: ServerSentEvent) throws(ProviderFailure) -> [ModelStreamEvent] {
        let data = event.data.trimmingCharacters(in: .whitespacesAndNewlines)
        if data == "[DONE]" {
            isDone = true
            return []
        }
        if event.type == "error" {
            let detail = (try? JSONValue.parse(data)).flatMap(ProviderText.message(in:)) ?? data
            throw ProviderFailure("the model server reported an error mid-answer: \(detail)", transient: false)
        }
        guard !data.isEmpty else { return [] }
        let chunk: ChatCompletionChunk
        do {
            chunk = try decoder.decode(ChatCompletionChunk.self, from: Data(data.utf8))
        } catch {
            throw ProviderFailure("the model server sent a malformed stream (not a chat completion chunk: \(Self.excerpt(data)))", transient: false)
        }
        if let error = chunk.error, error != .null {
            let detail = ProviderText.message(in: error) ?? error.jsonString()
            throw ProviderFailure("the model server reported an error mid-answer: \(detail)", transient: false)
        }
        var events: [ModelStreamEvent] = []
        // Herald asks for one choice; a server that sends more is read for the first only.
        for choice in chunk.choices ?? [] where (choice.index ?? 0) == 0 {
            if let text = choice.delta?.content, !text.isEmpty {
                events.append(.textDelta(text))
            }
            do {
                for call in choice.delta?.toolCalls ?? [] {
                    try assembler.add(call.delta)
                }
                if let reason = choice.finishReason, !reason.isEmpty {
                    finishReason = reason
                    events += try completedToolCalls()
                }
            } catch {
                throw ProviderFailure("the model server sent a malformed tool call (\(error))", transient: false)
            }
        }
        if let usage = chunk.usage, usage.promptTokens != nil || usage.completionTokens != nil {
            // Servers that report usage more than once report running totals: keep the latest.
            self.usage = ModelUsage(promptTokens: usage.promptTokens ?? 0, completionTokens: usage.completionTokens ?? 0)
        }
        return events
    }

    /// The stream's body ended: the calls not yet given out, the usage and `finish`; or the failure
    /// of a stream that stopped before the answer was complete.
    mutating func finish() throws(ProviderFailure) -> [ModelStreamEvent] {
        guard isDone || finishReason != nil else {
            throw ProviderFailure("the connection to the model server closed before the answer was complete", transient: true)
        }
        var events: [ModelStreamEvent]
        do {
            events = try completedToolCalls()
        } catch {
            throw ProviderFailure("the model server sent a malformed tool call (\(error))", transient: false)
        }
        if let usage { events.append(.usage(usage)) }
        events.append(.finish(Self.reason(finishReason, toolCalls: emittedToolCalls)))
        return events
    }

    private mutating func completedToolCalls() throws -> [ModelStreamEvent] {
        guard !assembler.isEmpty else { return [] }
        let calls = try assembler.complete()
        emittedToolCalls = true
        return calls.map(ModelStreamEvent.toolCall)
    }

    /// Ollama, among others, says `stop` after tool calls: the calls decide.
    static func reason(_ text: String?, toolCalls: Bool) -> ModelFinishReason {
        if toolCalls { return .toolCalls }
        switch text {
        case "length": return .length
        case "content_filter": return .contentFilter
        case "tool_calls", "function_call": return .toolCalls
        default: return .stop
        }
    }

    /// The start of a piece of the stream, for an error message.
    static func excerpt(_ text: String, limit: Int = 80) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}
