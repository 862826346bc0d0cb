import HeraldProtocol

/// One `data:` event of a streamed chat completion, reduced to what Herald reads. Every field is
/// optional: OpenAI, Ollama, vLLM and llama.cpp's server each leave out or add different ones.
struct ChatCompletionChunk: Decodable, Sendable {
    struct Choice: Decodable, Sendable {
        var index: Int?
        var delta: Delta?
        var finishReason: String?

        enum CodingKeys: String, CodingKey {
            case index, delta
            case finishReason = "finish_reason"
        }
    }

    struct Delta: Decodable, Sendable {
        var content: String?
        var toolCalls: [ToolCall]?

        enum CodingKeys: String, CodingKey {
            case content
            case toolCalls = "tool_calls"
        }
    }

    struct ToolCall: Decodable, Sendable {
        var index: Int?
        var id: String?
        var function: Function?

        var delta: ToolCallDelta {
            ToolCallDelta(index: index, id: id, name: function?.name, arguments: function?.arguments)
        }
    }

    struct Function: Decodable, Sendable {
        var name: String?
        /// Text, as the API defines it; a server that sends an object has it turned into JSON text.
        var arguments: String?

        enum CodingKeys: String, CodingKey {
            case name, arguments
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            if let text = try? container.decodeIfPresent(String.self, forKey: .arguments) {
                arguments = text
            } else if let value = try container.decodeIfPresent(JSONValue.self, forKey: .arguments), value != .null {
                arguments = value.jsonString()
            }
        }
    }

    struct Usage: Decodable, Sendable {
        var promptTokens: Int?
        var completionTokens: Int?

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
        }
    }

    var choices: [Choice]?
    var usage: Usage?
    /// A failure reported inside the stream (`{"error":{"message":…}}` or `{"error":"…"}`).
    var error: JSONValue?
}
