/// A model's whole reply to a request, read rather than streamed to the user: what triage and
/// reporting get when they consult the model.
struct ModelReply: Sendable, Equatable {
    var text: String
    var usage: ModelUsage

    /// Runs `request` to its end. Tool calls are ignored (these requests offer no tools); a provider
    /// failure throws `ModelError` (`llm_unavailable`), a stop of the run `CancellationError`.
    static func collect(from model: any LanguageModel, _ request: ModelRequest) async throws -> ModelReply {
        var reply = ModelReply(text: "", usage: .zero)
        do {
            for try await event in model.stream(request) {
                switch event {
                case .textDelta(let delta): reply.text += delta
                case .usage(let usage): reply.usage = reply.usage + usage
                case .toolCall, .finish: break
                }
            }
        } catch let error as ModelError {
            throw error
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw ModelError("\(error)")
        }
        // A stream ends quietly when its consumer is cancelled: tell that apart from a reply.
        try Task.checkCancellation()
        return reply
    }
}
