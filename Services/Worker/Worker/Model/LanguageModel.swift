/// A chat model that streams its answer and may call tools, in the shape of OpenAI's chat completions.
///
/// The stream yields text as it is written, each tool call once it is complete, the token usage
/// and finally `finish`. It ends by throwing when the provider fails (a `ModelError` maps to
/// `llm_unavailable`) and stops producing when the consuming task is cancelled.
public protocol LanguageModel: Sendable {
    /// The model's name, for logs and reports.
    var name: String { get }

    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error>
}
