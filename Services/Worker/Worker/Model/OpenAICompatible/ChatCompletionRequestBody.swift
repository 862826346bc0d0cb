import HeraldCore
import HeraldProtocol

/// The JSON body of `POST /chat/completions` for a `ModelRequest`: streamed, with usage, and with
/// the tools as functions. Tool calls go back as the assistant's `tool_calls`, their results as
/// `role: tool` messages carrying the `tool_call_id`.
enum ChatCompletionRequestBody {
    static func json(for request: ModelRequest, model: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "stream": true,
            "stream_options": ["include_usage": true],
            "messages": .array(request.messages.map(message)),
        ]
        // Some servers refuse an empty `tools` array; leaving it out means the same.
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map(tool))
        }
        return .object(body)
    }

    static func message(_ message: ModelMessage) -> JSONValue {
        var object: [String: JSONValue] = ["role": .string(message.role.rawValue), "content": .string(message.content)]
        switch message.role {
        case .assistant where !message.toolCalls.isEmpty:
            // The API's own shape: no text next to tool calls is `null`, not "".
            if message.content.isEmpty { object["content"] = .null }
            object["tool_calls"] = .array(
                message.toolCalls.map { call in
                    [
                        "id": .string(call.id),
                        "type": "function",
                        "function": ["name": .string(call.name), "arguments": .string(call.arguments)],
                    ]
                }
            )
        case .tool:
            object["tool_call_id"] = .string(message.toolCallID ?? "")
        default:
            break
        }
        return .object(object)
    }

    static func tool(_ spec: ToolSpec) -> JSONValue {
        [
            "type": "function",
            "function": ["name": .string(spec.name), "description": .string(spec.description), "parameters": spec.parameters],
        ]
    }
}
