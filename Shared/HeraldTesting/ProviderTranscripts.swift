import HeraldProtocol

/// Server-sent-event transcripts shaped like what real OpenAI-compatible servers stream: the same
/// envelopes, field order, nulls and line endings, with the content a test needs.
public enum ProviderTranscripts {
    /// A JSON string literal for `text` (escaped as a server would).
    public static func quoted(_ text: String) -> String { JSONValue.string(text).jsonString() }

    // MARK: OpenAI

    /// One chunk as OpenAI streams it.
    public static func openAIChunk(_ delta: String, finish: String? = nil) -> String {
        #"data: {"id":"chatcmpl-AbC123","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish.map(quoted) ?? "null")}],"usage":null}"#
            + "\n\n"
    }

    /// OpenAI's last chunk with `stream_options.include_usage`: no choices, the usage.
    public static func openAIUsage(prompt: Int, completion: Int) -> String {
        #"data: {"id":"chatcmpl-AbC123","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion),"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#
            + "\n\n"
    }

    public static let done = "data: [DONE]\n\n"

    /// A whole OpenAI answer: the role chunk, `pieces` of text, `stop`, the usage and `[DONE]`.
    public static func openAIText(_ pieces: [String], usage: (prompt: Int, completion: Int)? = nil) -> String {
        var text = openAIChunk(#"{"role":"assistant","content":"","refusal":null}"#)
        for piece in pieces {
            text += openAIChunk(#"{"content":\#(quoted(piece))}"#)
        }
        text += openAIChunk("{}", finish: "stop")
        if let usage { text += openAIUsage(prompt: usage.prompt, completion: usage.completion) }
        return text + done
    }

    // MARK: Ollama (its /v1 compatibility endpoint)

    public static func ollamaChunk(_ delta: String, finish: String? = nil) -> String {
        #"data: {"id":"chatcmpl-812","object":"chat.completion.chunk","created":1730000000,"model":"llama3.1:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish.map(quoted) ?? "null")}]}"#
            + "\n\n"
    }

    public static func ollamaUsage(prompt: Int, completion: Int) -> String {
        #"data: {"id":"chatcmpl-812","object":"chat.completion.chunk","created":1730000000,"model":"llama3.1:8b","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion)}}"#
            + "\n\n"
    }

    // MARK: vLLM

    public static func vLLMChunk(_ delta: String, finish: String? = nil) -> String {
        #"data: {"id":"chatcmpl-5f1c0e","object":"chat.completion.chunk","created":1730000000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish.map(quoted) ?? "null"),"stop_reason":null}]}"#
            + "\n\n"
    }

    // MARK: llama.cpp's server (CRLF line ends, as some proxies in front of it send)

    public static func llamaCppChunk(_ delta: String, finish: String? = nil) -> String {
        #"data: {"choices":[{"finish_reason":\#(finish.map(quoted) ?? "null"),"index":0,"delta":\#(delta)}],"created":1730000000,"id":"chatcmpl-Xq3","model":"qwen2.5-7b-instruct","system_fingerprint":"b4500","object":"chat.completion.chunk"}"#
            + "\r\n\r\n"
    }

    /// A short text answer in llama.cpp's shape, for the triage step of a run.
    public static func triage(_ text: String) -> String {
        llamaCppChunk(#"{"role":"assistant","content":null}"#) + llamaCppChunk(#"{"content":\#(quoted(text))}"#)
            + llamaCppChunk("{}", finish: "stop") + "data: [DONE]\r\n\r\n"
    }
}
