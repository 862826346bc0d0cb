import Foundation
import HeraldCore
import HeraldProtocol

/// The part of an AG-UI 1.0 `RunAgentInput` Herald reads: the ids, the newest user message, or, when the messages end
/// with `tool` messages, the results of the front-end tools the last run handed over, and the front-end `tools`.
///
/// `resume` answers the interrupts (approval requests) that ended the thread's previous AG-UI run: the run continues.
/// Everything else (`context`, `state`, `forwardedProps`, earlier messages) may be present and is not read: the
/// thread's own conversation is the history a run sees.
struct AGUIRunInput: Sendable, Equatable {
    var threadID: String
    var runID: String
    /// The text of the last `user` message.
    var message: String
    /// That message's id, when it has one (echoed as the run's `client_msg_id`).
    var messageID: String?
    /// The front-end tools the client offers.
    var tools: [ToolSpec] = []
    /// The results of front-end tool calls, when the messages end with them (then `message` is empty).
    var toolResults: [ClientToolResult] = []
    /// Answers to approval requests, when the request continues a paused run (then `message` is empty).
    var resume: [ResumeAnswer] = []

    /// One `resume[]` entry: the decision on an approval request (an interrupt whose `id` is the `approval_id`).
    ///
    /// `status: "resolved"` with `payload` `{"decision": "approve"|"deny", "arguments"?, "reason"?}` (or
    /// `{"approved": true|false}`) decides it; `status: "cancelled"` (the client abandoned it) denies it.
    struct ResumeAnswer: Sendable, Equatable {
        var approvalID: String
        var approve: Bool
        var arguments: [String: JSONValue]?
        var reason: String?
    }

    /// Front-end tools one request may offer.
    static let maximumTools = 128

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
        self.threadID = threadID
        self.runID = runID
        self.message = ""
        self.tools = try Self.tools(object["tools"])
        self.resume = try Self.resume(object["resume"])
        if !resume.isEmpty { return }
        // Messages that end with tool results continue the run that handed those calls to the client.
        let trailingResults = messages.reversed().prefix { $0["role"]?.stringValue == "tool" }
        if !trailingResults.isEmpty {
            var results: [ClientToolResult] = []
            for message in trailingResults.reversed() {
                guard let callID = message["toolCallId"]?.stringValue, !callID.isEmpty else {
                    throw Invalid(description: "a tool message has no 'toolCallId'")
                }
                let content = Self.text(of: message["content"]) ?? message["content"].map { $0.jsonString() } ?? ""
                results.append(ClientToolResult(toolCallID: callID, content: content))
            }
            toolResults = results
            return
        }
        guard let last = messages.last(where: { $0["role"]?.stringValue == "user" }) else {
            throw Invalid(description: "'messages' holds no user message")
        }
        guard let text = Self.text(of: last["content"]), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw Invalid(description: "the last user message has no text")
        }
        self.message = text
        self.messageID = last["id"]?.stringValue
    }

    /// Answers one request may carry.
    static let maximumResumeEntries = 16

    /// The request's `resume[]`: answers to the previous run's interrupts.
    static func resume(_ value: JSONValue?) throws(Invalid) -> [ResumeAnswer] {
        guard let value, value != .null else { return [] }
        guard case .array(let entries) = value else { throw Invalid(description: "'resume' must be an array") }
        guard entries.count <= maximumResumeEntries else {
            throw Invalid(description: "'resume' answers more than \(maximumResumeEntries) interrupts")
        }
        var answers: [ResumeAnswer] = []
        for entry in entries {
            guard let id = entry["interruptId"]?.stringValue, !id.isEmpty else {
                throw Invalid(description: "a 'resume' entry needs an 'interruptId'")
            }
            switch entry["status"]?.stringValue {
            case "cancelled"?:
                answers.append(ResumeAnswer(approvalID: id, approve: false, reason: "the client abandoned the request"))
            case "resolved"?:
                let payload = entry["payload"] ?? .null
                let approve: Bool
                switch (payload["decision"]?.stringValue, payload["approved"]) {
                case ("approve"?, _), (nil, .bool(true)?): approve = true
                case ("deny"?, _), (nil, .bool(false)?): approve = false
                default:
                    throw Invalid(
                        description:
                            "the payload of a resolved 'resume' entry must say {\"decision\": \"approve\"|\"deny\"} or {\"approved\": true|false}"
                    )
                }
                var arguments: [String: JSONValue]?
                if let given = payload["arguments"], given != .null {
                    guard approve, let object = given.objectValue else {
                        throw Invalid(description: "'arguments' in a 'resume' payload must be a JSON object, and only with approve")
                    }
                    arguments = object
                }
                answers.append(ResumeAnswer(approvalID: id, approve: approve, arguments: arguments, reason: payload["reason"]?.stringValue))
            default:
                throw Invalid(description: "a 'resume' entry's 'status' must be \"resolved\" or \"cancelled\"")
            }
        }
        return answers
    }

    /// The request's front-end tools: each a name, a description and a JSON schema of its arguments.
    static func tools(_ value: JSONValue?) throws(Invalid) -> [ToolSpec] {
        guard let value, value != .null else { return [] }
        guard case .array(let items) = value else { throw Invalid(description: "'tools' must be an array") }
        guard items.count <= maximumTools else { throw Invalid(description: "'tools' offers more than \(maximumTools) tools") }
        var tools: [ToolSpec] = []
        for item in items {
            guard let name = item["name"]?.stringValue, !name.isEmpty, name.utf8.count <= 64 else {
                throw Invalid(description: "a tool needs a 'name' of 1 to 64 characters")
            }
            let parameters = item["parameters"] ?? ["type": "object", "properties": [:]]
            tools.append(ToolSpec(name: name, description: item["description"]?.stringValue ?? "", parameters: parameters))
        }
        return tools
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
