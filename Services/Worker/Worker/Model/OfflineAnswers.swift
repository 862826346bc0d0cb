import Foundation
import HeraldProtocol

/// The sentences the offline model answers with.
enum OfflineAnswers {
    /// One line per tool call, in call order, stating its outcome.
    static func toolOutcomes(_ calls: [(call: ModelToolCall, result: String?)]) -> String {
        calls.map { call, result in
            let arguments = (try? JSONValue.parse(call.arguments)) ?? .object([:])
            guard let result else {
                return "The \(call.name) tool gave no result."
            }
            var value = (try? JSONValue.parse(result)) ?? .string(result)
            if value["approval"] != nil, let approved = value["result"] {
                // A call a person approved with a note (edited arguments): the outcome is the result within.
                value = approved
            }
            if let error = value["error"]?.stringValue {
                return failure(call.name, arguments: arguments, error: error, status: value["status"]?.stringValue)
            }
            return success(call.name, arguments: arguments, result: value)
        }.joined(separator: "\n")
    }

    private static func success(_ tool: String, arguments: JSONValue, result: JSONValue) -> String {
        switch tool {
        case "calculator":
            let expression = result["expression"]?.stringValue ?? arguments["expression"]?.stringValue ?? "the expression"
            let value = result["text"]?.stringValue ?? result["value"]?.numberValue.map(NumberText.format) ?? result.jsonString()
            return "\(expression) = \(value)"
        case "clock":
            let zone = result["time_zone"]?.stringValue ?? "UTC"
            let offset = result["utc_offset"]?.stringValue ?? ""
            let place = zone == "GMT" || zone == "UTC" ? "UTC" : "\(zone) (UTC\(offset))"
            return "It is \(result["time"]?.stringValue ?? "?") on \(result["date"]?.stringValue ?? "?") in \(place)."
        case "wait":
            let seconds = result["waited_seconds"]?.numberValue ?? arguments["seconds"]?.numberValue ?? 0
            return "I waited \(NumberText.format(seconds)) second\(seconds == 1 ? "" : "s")."
        case "search_docs":
            let query = result["query"]?.stringValue ?? arguments["query"]?.stringValue ?? ""
            guard case .array(let hits)? = result["results"], !hits.isEmpty else {
                return "I found nothing in the docs about “\(query)”."
            }
            let lines = hits.map { hit in
                let heading = hit["heading"]?.stringValue ?? ""
                let file = hit["file"]?.stringValue ?? ""
                return "- \(heading) (\(file)): \(excerpt(hit["text"]?.stringValue ?? ""))"
            }
            return "From the docs on “\(query)”:\n" + lines.joined(separator: "\n")
        case "save_note":
            let text = result["text"]?.stringValue ?? arguments["text"]?.stringValue ?? ""
            return "I saved your note: “\(excerpt(text, limit: 200))”."
        case "list_notes":
            guard case .array(let notes)? = result["notes"], !notes.isEmpty else {
                return "You have no saved notes."
            }
            let lines = notes.map { "- \(excerpt($0["text"]?.stringValue ?? "", limit: 200))" }
            return "Your notes:\n" + lines.joined(separator: "\n")
        default:
            return "The \(tool) tool returned \(result.jsonString())."
        }
    }

    private static func failure(_ tool: String, arguments: JSONValue, error: String, status: String?) -> String {
        if status == "timeout" {
            return "The \(tool) tool did not finish in time (\(error))."
        }
        if status == "denied" {
            return "I did not run \(tool): \(error)."
        }
        switch tool {
        case "calculator":
            let expression = arguments["expression"]?.stringValue ?? "that"
            return "I couldn't calculate \(expression): \(error)."
        case "clock":
            return "I couldn't tell the time: \(error)."
        case "wait":
            return "I couldn't wait: \(error)."
        case "search_docs":
            return "I couldn't search the docs: \(error)."
        default:
            return "The \(tool) tool failed: \(error)."
        }
    }

    /// The first sentence or so of a passage, on one line.
    static func excerpt(_ text: String, limit: Int = 240) -> String {
        let flat = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        guard flat.count > limit else { return flat }
        let cut = flat.prefix(limit)
        if let end = cut.lastIndex(of: "."), cut.distance(from: cut.startIndex, to: end) > limit / 3 {
            return String(cut[...end])
        }
        return cut.trimmingCharacters(in: .whitespaces) + "…"
    }

    /// The answer to "what did I ask before?".
    static func earlierMessages(_ earlier: [String]) -> String {
        let recent = earlier.suffix(10).map { "“\(excerpt($0, limit: 300))”" }
        switch recent.count {
        case 0:
            return "This is the first message of our conversation, so there is nothing earlier to recall."
        case 1:
            return "Before this, you asked: \(recent[0])"
        default:
            let numbered = recent.enumerated().map { "\($0.offset + 1). \($0.element)" }
            return "Before this, you asked:\n" + numbered.joined(separator: "\n")
        }
    }

    /// The answer when the message asks for nothing the offline model can do.
    static func direct(to message: String, tools: [String]) -> String {
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        let abilities = abilitiesText(tools)
        if trimmed.isEmpty {
            return "Your message is empty, so there is nothing to answer. \(abilities)"
        }
        if trimmed.wholeMatch(of: #/(?i)(?:hi|hello|hey|good\s+(?:morning|afternoon|evening)|greetings)[\s!.,]*(?:there|herald)?[\s!.]*/#) != nil {
            return "Hello! I'm Herald's offline assistant. \(abilities)"
        }
        return "I'm Herald's offline model, so I can't answer “\(excerpt(trimmed, limit: 120))” from general knowledge. \(abilities)"
    }

    private static func abilitiesText(_ tools: [String]) -> String {
        let descriptions: [(String, String)] = [
            ("calculator", "do arithmetic (try “what is (17*3)+4?”)"),
            ("clock", "tell the date and time in any time zone"),
            ("wait", "wait a number of seconds"),
            ("search_docs", "search Herald's documentation"),
            ("save_note", "save a note for you (“save a note: …”, with your approval)"),
        ]
        let available = descriptions.filter { tools.contains($0.0) }.map(\.1)
        switch available.count {
        case 0: return "No tools are available right now."
        case 1: return "I can \(available[0])."
        default: return "I can " + available.dropLast().joined(separator: ", ") + " and " + available[available.count - 1] + "."
        }
    }
}
