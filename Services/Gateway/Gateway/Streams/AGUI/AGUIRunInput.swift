import Foundation
import HeraldProtocol

/// The part of an AG-UI 1.0 `RunAgentInput` Herald reads: the ids and the newest user message.
///
/// Everything else (`tools`, `context`, `state`, `forwardedProps`, `resume`, earlier messages) may be present and is
/// not read: the thread's own conversation is the history a run sees.
struct AGUIRunInput: Sendable, Equatable {
    var threadID: String
    var runID: String
    /// The text of the last `user` message.
    var message: String
    /// That message's id, when it has one (echoed as the run's `client_msg_id`).
    var messageID: String?

    /// Why a body is not a usable `RunAgentInput`.
    struct Invalid: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    init(json body: String) throws(Invalid) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body)
        } catch {
            throw Invalid(description: "the body is not JSON")
        }
        guard let object = value.objectValue else { throw Invalid(description: "the body is not a RunAgentInput object") }
        guard let threadID = object["threadId"]?.stringValue, StandardIDs.isAcceptable(threadID) else {
            throw Invalid(description: "'threadId' must be a string of 1 to 128 printable ASCII characters")
        }
        guard let runID = object["runId"]?.stringValue, StandardIDs.isAcceptable(runID) else {
            throw Invalid(description: "'runId' must be a string of 1 to 128 printable ASCII characters")
        }
        guard case .array(let messages)? = object["messages"] else {
            throw Invalid(description: "'messages' must be an array")
        }
        guard let last = messages.last(where: { $0["role"]?.stringValue == "user" }) else {
            throw Invalid(description: "'messages' holds no user message")
        }
        guard let text = Self.text(of: last["content"]), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw Invalid(description: "the last user message has no text")
        }
        self.threadID = threadID
        self.runID = runID
        self.message = text
        self.messageID = last["id"]?.stringValue
    }

    /// A message's text: a string, or its `text` parts joined.
    static func text(of content: JSONValue?) -> String? {
        switch content {
        case .string(let text)?:
            return text
        case .array(let parts)?:
            let texts = parts.compactMap { part -> String? in
                guard part["type"]?.stringValue == "text" else { return nil }
                return part["text"]?.stringValue
            }
            return texts.isEmpty ? nil : texts.joined(separator: "\n")
        default:
            return nil
        }
    }
}
