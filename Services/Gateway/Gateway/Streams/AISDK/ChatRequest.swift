import HeraldProtocol

/// What Herald reads of a Vercel AI SDK `useChat` request (`POST /api/chat`, its default transport): the chat id,
/// which is the thread, and the newest user message's text.
///
/// `trigger` (`submit-message`, `regenerate-message`) and `messageId` may be present: either way the newest user
/// message is run again on the thread, whose own conversation is the history the run sees.
struct ChatRequest: Sendable, Equatable {
    var chatID: String
    var message: String
    var messageID: String?

    /// Why a body is not a usable chat request.
    struct Invalid: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    init(json body: String) throws(Invalid) {
        guard let value = try? JSONValue.parse(body), let object = value.objectValue else {
            throw Invalid(description: "the body is not a JSON object")
        }
        guard let chatID = object["id"]?.stringValue, StandardIDs.isAcceptable(chatID) else {
            throw Invalid(description: "'id' must be a string of 1 to 128 printable ASCII characters")
        }
        guard case .array(let messages)? = object["messages"] else {
            throw Invalid(description: "'messages' must be an array")
        }
        guard let last = messages.last(where: { $0["role"]?.stringValue == "user" }) else {
            throw Invalid(description: "'messages' holds no user message")
        }
        // UI messages carry `parts`; messages of older SDKs a `content` string.
        let text = AGUIRunInput.text(of: last["parts"]) ?? last["content"]?.stringValue
        guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw Invalid(description: "the last user message has no text")
        }
        self.chatID = chatID
        self.message = text
        self.messageID = last["id"]?.stringValue
    }
}
