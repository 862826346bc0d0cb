import HeraldProtocol

/// The built-in model used without `HERALD_LLM_BASE_URL`: deterministic, no network.
///
/// It plans tool calls from the user's message (`OfflinePlanner`), and once their results are in,
/// writes an answer stating each outcome. It streams text word by word, waiting `wordDelay`
/// before each word (`HERALD_OFFLINE_DELAY_MS`), and stops as soon as its consumer is cancelled.
public struct OfflineModel: LanguageModel {
    public let name = "herald-offline"
    public let wordDelay: Duration

    public init(wordDelay: Duration = .milliseconds(20)) {
        self.wordDelay = wordDelay
    }

    /// What the model answers to a request: the text it streams and the tool calls it makes.
    struct Reply: Sendable, Equatable {
        var text: String
        var toolCalls: [ModelToolCall]
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let reply = Self.reply(to: request)
        let delay = wordDelay
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelStreamEvent.self)
        let producer = Task {
            do {
                for word in Self.words(of: reply.text) {
                    if delay > .zero {
                        try await Task.sleep(for: delay)
                    } else {
                        try Task.checkCancellation()
                    }
                    continuation.yield(.textDelta(word))
                }
                for call in reply.toolCalls {
                    continuation.yield(.toolCall(call))
                }
                continuation.yield(.usage(Self.usage(of: request, reply: reply)))
                continuation.yield(.finish(reply.toolCalls.isEmpty ? .stop : .toolCalls))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in producer.cancel() }
        return stream
    }

    /// Decides the reply; pure, so the same request always gets the same answer.
    static func reply(to request: ModelRequest) -> Reply {
        let messages = request.messages
        guard let userIndex = messages.lastIndex(where: { $0.role == .user }) else {
            return Reply(text: "There is no question to answer yet.", toolCalls: [])
        }
        let message = messages[userIndex].content
        let earlier = messages[..<userIndex].filter { $0.role == .user }.map(\.content)
        let turn = messages[(userIndex + 1)...]
        let callsMade = turn.flatMap(\.toolCalls)

        if !callsMade.isEmpty {
            var results: [String: String] = [:]
            for result in turn where result.role == .tool {
                if let id = result.toolCallID { results[id] = result.content }
            }
            var parts: [String] = []
            if OfflinePlanner.asksAboutEarlierMessages(message) {
                parts.append(OfflineAnswers.earlierMessages(earlier))
            }
            parts.append(OfflineAnswers.toolOutcomes(callsMade.map { ($0, results[$0.id]) }))
            return Reply(text: parts.joined(separator: "\n\n"), toolCalls: [])
        }

        let offered = Set(request.tools.map(\.name))
        // A name asked for as the user wrote it (`use files.read with …`) is called as the model was told it.
        let planned = OfflinePlanner.plan(message).compactMap { call -> OfflinePlanner.PlannedCall? in
            if offered.contains(call.toolName) { return call }
            let safe = ToolNames.modelSafe(call.toolName)
            return offered.contains(safe) ? OfflinePlanner.PlannedCall(toolName: safe, arguments: call.arguments) : nil
        }
        if !planned.isEmpty {
            // Ids count every call of the conversation, so they stay unique across rounds.
            let previousCalls = messages.reduce(0) { $0 + $1.toolCalls.count }
            let calls = planned.enumerated().map { index, call in
                ModelToolCall(id: "call_\(previousCalls + index + 1)", name: call.toolName, arguments: call.arguments.jsonString())
            }
            return Reply(text: "", toolCalls: calls)
        }
        if OfflinePlanner.asksAboutEarlierMessages(message) {
            return Reply(text: OfflineAnswers.earlierMessages(earlier), toolCalls: [])
        }
        return Reply(text: OfflineAnswers.direct(to: message, tools: request.tools.map(\.name)), toolCalls: [])
    }

    /// The text cut into words, each with the whitespace that follows it, so the pieces add up to the text.
    static func words(of text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWhitespace = false
        for character in text {
            if character.isWhitespace {
                inWhitespace = true
            } else if inWhitespace {
                words.append(current)
                current = ""
                inWhitespace = false
            }
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Words stand in for tokens, so usage is deterministic too.
    private static func usage(of request: ModelRequest, reply: Reply) -> ModelUsage {
        let prompt = request.messages.reduce(0) { $0 + words(of: $1.content).count }
        let completion = words(of: reply.text).count + reply.toolCalls.reduce(0) { $0 + 1 + words(of: $1.arguments).count }
        return ModelUsage(promptTokens: prompt, completionTokens: completion)
    }
}
