import Foundation

/// The terms text is indexed and searched by: lower-cased words without stop words, plurals folded,
/// and `snake_case` names kept whole as well as split (`agent_started` → agent_started, agent, started).
enum SearchTerms {
    static let stopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i",
        "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "so", "that", "the", "their",
        "then", "there", "these", "this", "to", "was", "what", "when", "where", "which", "who", "why",
        "will", "with", "you", "your", "about", "tell", "search", "find", "look", "up", "please",
    ]

    static func terms(of text: String) -> [String] {
        var terms: [String] = []
        var word = ""
        func flush() {
            defer { word = "" }
            let trimmed = word.trimmingCharacters(in: CharacterSet(charactersIn: "_"))
            guard !trimmed.isEmpty else { return }
            let parts = trimmed.split(separator: "_").map(String.init)
            if parts.count > 1 { terms.append(trimmed) }
            for part in parts where !stopWords.contains(part) {
                terms.append(stem(part))
            }
        }
        for character in text.lowercased() {
            if character.isLetter || character.isNumber || character == "_" {
                word.append(character)
            } else if character == "'" || character == "\u{2019}" {
                // "herald's" → "herald": drop the possessive, keep the word going otherwise.
                continue
            } else {
                flush()
            }
        }
        flush()
        return terms
    }

    /// Folds plurals so "events" finds "event" and "queries" finds "query".
    static func stem(_ word: String) -> String {
        guard word.count > 3, word.allSatisfy(\.isLetter) else { return word }
        if word.hasSuffix("ies") { return String(word.dropLast(3)) + "y" }
        if word.hasSuffix("sses") || word.hasSuffix("xes") || word.hasSuffix("ches") || word.hasSuffix("shes") { return String(word.dropLast(2)) }
        if word.hasSuffix("ss") || word.hasSuffix("us") || word.hasSuffix("is") { return word }
        if word.hasSuffix("s") { return String(word.dropLast()) }
        return word
    }
}
