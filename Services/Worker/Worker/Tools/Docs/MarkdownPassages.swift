import Foundation

/// Splits markdown into passages by heading and paragraph.
public enum MarkdownPassages {
    /// Paragraphs of one section are joined up to about this many characters, so a passage
    /// carries enough context to answer from and still points at one place.
    static let targetLength = 700

    public static func split(_ markdown: String, file: String) -> [DocPassage] {
        var passages: [DocPassage] = []
        var headings: [(level: Int, title: String)] = []
        var paragraph: [Substring] = []
        var section: [String] = []
        var inFence = false

        func headingTrail() -> String {
            headings.isEmpty ? file : headings.map(\.title).joined(separator: " › ")
        }
        func endParagraph() {
            let text = paragraph.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            paragraph.removeAll()
            guard !text.isEmpty else { return }
            if let last = section.last, last.count + text.count + 2 <= targetLength {
                section[section.count - 1] = last + "\n\n" + text
            } else {
                section.append(text)
            }
        }
        func endSection() {
            endParagraph()
            let trail = headingTrail()
            for text in section {
                passages.append(DocPassage(file: file, heading: trail, text: text))
            }
            section.removeAll()
        }

        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                inFence.toggle()
                paragraph.append(line)
                continue
            }
            if !inFence, let (level, title) = Self.heading(trimmed) {
                endSection()
                headings.removeAll { $0.level >= level }
                headings.append((level, title))
                continue
            }
            if !inFence, trimmed.isEmpty {
                endParagraph()
            } else {
                paragraph.append(line)
            }
        }
        endSection()
        return passages
    }

    private static func heading(_ line: String) -> (Int, String)? {
        let level = line.prefix(while: { $0 == "#" }).count
        guard (1...6).contains(level) else { return nil }
        let rest = line.dropFirst(level)
        guard rest.first == " " else { return nil }
        let title = rest.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "#")).trimmingCharacters(
            in: .whitespaces
        )
        return title.isEmpty ? nil : (level, title)
    }
}
