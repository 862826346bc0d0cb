import Foundation
import HeraldProtocol

/// Reads a user message the way the offline model does: which tool calls it asks for, in order.
///
/// The message is cut into clauses ("…?", "…; …", "… and then …", "…, and what …"); each clause
/// may ask for arithmetic (`calculator`), the time or date (`clock`), a pause (`wait`) or a
/// documentation search (`search_docs`, also for any question about Herald itself).
public enum OfflinePlanner {
    // Compiled once: building a Regex is costly and the planner runs on every run (profiled).
    // Regex is immutable after construction, so sharing these across tasks is safe.
    nonisolated(unsafe) private static let earlierMessagesPattern =
        #/(?i)\bwhat\s+(?:did|have|had)\s+i\s+(?:just\s+|already\s+)?(?:ask|asked|say|said|write|written|wrote|tell|told|type|typed|send|sent)\b|\b(?:my|the)\s+(?:last|previous|earlier|first|other)\s+(?:question|message|request)s?\b|\bwhat\s+(?:was|were)\s+my\s+(?:question|message|request)s?\b|\b(?:asked|said)\s+(?:you\s+)?(?:before|earlier|previously)\b/#
    nonisolated(unsafe) private static let clauseSeparator =
        #/(?i)\s*(?:[?!;\n]+|\.(?=\s|$)|,?\s+(?:and\s+)?then\s+|,?\s+and\s+(?:also\s+)?(?=(?:what|whats|wait|pause|sleep|search|tell|how|when|give|calculate|compute|find|look)\b)|,\s+(?=(?:what|whats|wait|pause|sleep|search|tell|how|when|give|calculate|compute|find|look|and)\b))\s*/#
    nonisolated(unsafe) private static let searchPattern =
        #/(?i)^(?:(?:and|also|then|now|please|can\s+you|could\s+you)\s+)*(?:search|look\s+up|find)(?:\s+(?:in\s+)?(?:the\s+)?(?:herald\s+)?(?:docs|documentation))?(?:\s+(?:for|about|on))?\s+(.+)$/#
    nonisolated(unsafe) private static let waitPattern =
        #/(?i)\b(?:wait|pause|sleep)(?:\s+for)?\s+(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m)?\b/#
    nonisolated(unsafe) private static let clockQuestion =
        #/(?i)\bwhat\s*(?:'s|’s|\s+is)?\s+(?:the\s+)?(?:current\s+|local\s+)?(?:time|date|day)\b|\bwhat\s+(?:time|date|day)\b|\btime\s+is\s+it\b|\bcurrent\s+(?:time|date)\b|\btoday'?s\s+date\b|\bthe\s+(?:time|date)\s+(?:now|today|in)\b|\btime\s+(?:now|in)\b|\bday\s+of\s+the\s+week\b|\bclock\b/#
    nonisolated(unsafe) private static let timeZonePattern = #/(?i)\bin\s+([A-Za-z_]+(?:/[A-Za-z_\-]+)*)(?:\s+([A-Za-z_]+))?/#
    nonisolated(unsafe) private static let heraldPattern = #/(?i)\bherald\b/#
    nonisolated(unsafe) private static let datePattern = #/\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}/#

    /// One tool call the message asks for.
    public struct PlannedCall: Sendable, Equatable {
        public var toolName: String
        public var arguments: JSONValue

        public init(toolName: String, arguments: JSONValue) {
            self.toolName = toolName
            self.arguments = arguments
        }
    }

    /// `use <tool> with <JSON arguments>`: a call of any tool by name (a client's, an MCP server's), so a person can
    /// try one without a language model.
    nonisolated(unsafe) private static let usePattern = #/(?is)\buse\s+([A-Za-z0-9_.\-]+)\s+with\s+(\{.*\})/#

    /// The call `use <tool> with <JSON arguments>` asks for; nil when the message says no such thing, or its
    /// arguments are not a JSON object.
    public static func namedCall(in message: String) -> PlannedCall? {
        guard let match = message.firstMatch(of: Self.usePattern),
            let arguments = try? JSONValue.parse(String(match.output.2)), arguments.objectValue != nil
        else { return nil }
        return PlannedCall(toolName: String(match.output.1), arguments: arguments)
    }

    /// `save a note: …`: the rest of the message is the note, whatever it contains.
    nonisolated(unsafe) private static let saveNotePattern =
        #/(?is)\b(?:save|take|make|write|add|keep)\s+(?:a\s+|this\s+|the\s+)?note\s*(?::|-|–|—|that)\s*(.+)$/#
    nonisolated(unsafe) private static let listNotesPattern =
        #/(?i)\b(?:list|show|read|give)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?my\s+(?:saved\s+)?notes\b|\bwhat\s+(?:are|were)\s+my\s+(?:saved\s+)?notes\b/#

    /// The calls `message` asks for, in the order it asks for them, without repeats.
    public static func plan(_ message: String) -> [PlannedCall] {
        // A named call takes the whole message: its JSON may hold anything the clause rules would cut.
        if let named = namedCall(in: message) { return [named] }
        // So does a note: its text is the user's to write.
        if let match = message.firstMatch(of: Self.saveNotePattern) {
            let text = match.output.1.trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { return [PlannedCall(toolName: "save_note", arguments: ["text": .string(text)])] }
        }
        var calls: [PlannedCall] = []
        for clause in clauses(of: message) {
            for call in plan(clause: clause) where !calls.contains(call) {
                calls.append(call)
            }
        }
        return calls
    }

    /// Whether the message asks what was said earlier in the conversation.
    public static func asksAboutEarlierMessages(_ message: String) -> Bool {
        let pattern = Self.earlierMessagesPattern
        return message.contains(pattern)
    }

    // MARK: Clauses

    static func clauses(of message: String) -> [String] {
        // Split at sentence ends, "then", and "and"/"," before the start of another request.
        let separator = Self.clauseSeparator
        return message.split(separator: separator)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
    }

    private static func plan(clause: String) -> [PlannedCall] {
        // A search takes the rest of its clause as the query, whatever it contains.
        if let search = searchCall(in: clause) {
            return [search]
        }
        var found: [(position: Int, call: PlannedCall)] = []
        if let match = clause.firstMatch(of: Self.listNotesPattern) {
            found.append((offset(match.range.lowerBound, in: clause), PlannedCall(toolName: "list_notes", arguments: [:])))
        }
        found += waitCalls(in: clause)
        found += arithmeticCalls(in: clause)
        found += clockCalls(in: clause)
        if found.isEmpty, mentionsHerald(clause) {
            return [PlannedCall(toolName: "search_docs", arguments: ["query": .string(clause)])]
        }
        return found.sorted { $0.position < $1.position }.map(\.call)
    }

    private static func offset(_ index: String.Index, in text: String) -> Int {
        text.distance(from: text.startIndex, to: index)
    }

    // MARK: search_docs

    private static func searchCall(in clause: String) -> PlannedCall? {
        let pattern = Self.searchPattern
        guard let match = clause.wholeMatch(of: pattern) else { return nil }
        let query = match.output.1.trimmingCharacters(in: CharacterSet(charactersIn: " \"'“”‘’"))
        guard !query.isEmpty else { return nil }
        return PlannedCall(toolName: "search_docs", arguments: ["query": .string(query)])
    }

    private static func mentionsHerald(_ clause: String) -> Bool {
        clause.contains(Self.heraldPattern)
    }

    // MARK: wait

    private static func waitCalls(in clause: String) -> [(Int, PlannedCall)] {
        let pattern = Self.waitPattern
        return clause.matches(of: pattern).compactMap { match in
            guard var seconds = Double(match.output.1) else { return nil }
            if let unit = match.output.2?.lowercased(), unit.hasPrefix("m") {
                seconds *= 60
            }
            return (offset(match.range.lowerBound, in: clause), PlannedCall(toolName: "wait", arguments: ["seconds": .number(seconds)]))
        }
    }

    // MARK: calculator

    /// Characters an arithmetic expression may be made of.
    private static let expressionCharacters: Set<Character> = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ".", "(", ")", "+", "-", "*", "/", "%", "^",
        "\u{00D7}", "\u{00F7}", "\u{2212}", "\u{2013}", " ",
    ]
    private static let operatorCharacters: Set<Character> = ["+", "-", "*", "/", "%", "^", "\u{00D7}", "\u{00F7}", "\u{2212}", "\u{2013}"]

    private static func arithmeticCalls(in clause: String) -> [(Int, PlannedCall)] {
        var calls: [(Int, PlannedCall)] = []
        let characters = Array(clause)
        var index = 0
        while index < characters.count {
            guard expressionCharacters.contains(characters[index]), characters[index] != " " else {
                index += 1
                continue
            }
            let start = index
            while index < characters.count, expressionCharacters.contains(characters[index]) {
                index += 1
            }
            // A number glued to a word ("covid-19", "3rd") is not arithmetic.
            if start > 0, characters[start - 1].isLetter { continue }
            var candidate = String(characters[start..<index]).trimmingCharacters(in: .whitespaces)
            while let last = candidate.last, last == "." || last == "(" || operatorCharacters.contains(last) {
                candidate.removeLast()
                candidate = candidate.trimmingCharacters(in: .whitespaces)
            }
            while let first = candidate.first, first == ")" {
                candidate.removeFirst()
            }
            guard isArithmetic(candidate), !isDate(candidate) else { continue }
            calls.append((start, PlannedCall(toolName: "calculator", arguments: ["expression": .string(candidate)])))
        }
        return calls
    }

    /// An expression has a number, then a binary operator, then another number or '('.
    static func isArithmetic(_ candidate: String) -> Bool {
        let characters = Array(candidate.filter { $0 != " " })
        for (index, character) in characters.enumerated() where operatorCharacters.contains(character) && index > 0 {
            let before = characters[index - 1]
            guard before.isNumber || before == ")" else { continue }
            if characters[(index + 1)...].contains(where: \.isNumber) { return true }
        }
        return false
    }

    private static func isDate(_ candidate: String) -> Bool {
        candidate.wholeMatch(of: Self.datePattern) != nil
    }

    // MARK: clock

    private static func clockCalls(in clause: String) -> [(Int, PlannedCall)] {
        let question = Self.clockQuestion
        guard let match = clause.firstMatch(of: question) else { return [] }
        var arguments: [String: JSONValue] = [:]
        if let zone = timeZone(in: clause) {
            arguments["time_zone"] = .string(zone)
        }
        return [(offset(match.range.lowerBound, in: clause), PlannedCall(toolName: "clock", arguments: .object(arguments)))]
    }

    /// The zone named after "in" ("in Tokyo", "in Europe/Paris", "in New York", "in UTC"):
    /// resolved when it is one, passed on as written when it looks like a name, so the clock
    /// can say it does not know it.
    private static func timeZone(in clause: String) -> String? {
        let pattern = Self.timeZonePattern
        for match in clause.matches(of: pattern) {
            let first = String(match.output.1)
            if let second = match.output.2.map(String.init), let zone = TimeZoneName.resolve(first + " " + second) {
                return TimeZoneName.identifier(of: zone)
            }
            if let zone = TimeZoneName.resolve(first) {
                return TimeZoneName.identifier(of: zone)
            }
            if first.contains("/") || first.first?.isUppercase == true && !["The", "A", "An"].contains(first) {
                return first
            }
        }
        return nil
    }
}
