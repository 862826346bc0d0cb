import Foundation

/// BM25 ranking over the passages of the bundled markdown docs.
public struct DocsIndex: Sendable {
    /// One ranked passage.
    public struct Hit: Sendable, Equatable {
        public var passage: DocPassage
        public var score: Double
    }

    /// BM25 term-frequency saturation and length normalisation, the usual values.
    static let k1 = 1.2
    static let b = 0.75

    public let passages: [DocPassage]
    /// The folder the docs were read from, if any.
    public let directory: String?
    private let termCounts: [[String: Int]]
    private let lengths: [Int]
    private let documentFrequency: [String: Int]
    private let averageLength: Double

    public static let empty = DocsIndex(passages: [])

    public init(passages: [DocPassage], directory: String? = nil) {
        self.passages = passages
        self.directory = directory
        var termCounts: [[String: Int]] = []
        var lengths: [Int] = []
        var documentFrequency: [String: Int] = [:]
        for passage in passages {
            // The heading counts as part of the passage: "Resume without gaps" is what it is about.
            let terms = SearchTerms.terms(of: passage.heading + "\n" + passage.text)
            var counts: [String: Int] = [:]
            for term in terms { counts[term, default: 0] += 1 }
            for term in counts.keys { documentFrequency[term, default: 0] += 1 }
            termCounts.append(counts)
            lengths.append(terms.count)
        }
        self.termCounts = termCounts
        self.lengths = lengths
        self.documentFrequency = documentFrequency
        self.averageLength = lengths.isEmpty ? 1 : max(1, Double(lengths.reduce(0, +)) / Double(lengths.count))
    }

    /// Reads every `.md` file under `directory` (recursively, in path order).
    public static func load(directory: URL) throws -> DocsIndex {
        let root = directory.standardizedFileURL
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw ToolError("cannot read the docs folder \(root.path)")
        }
        var files: [(relative: String, url: URL)] = []
        for case let url as URL in enumerator where url.pathExtension.lowercased() == "md" {
            let path = url.standardizedFileURL.path
            let relative = path.hasPrefix(root.path + "/") ? String(path.dropFirst(root.path.count + 1)) : url.lastPathComponent
            files.append((relative, url))
        }
        files.sort { $0.relative < $1.relative }
        var passages: [DocPassage] = []
        for file in files {
            let text = try String(contentsOf: file.url, encoding: .utf8)
            passages += MarkdownPassages.split(text, file: file.relative)
        }
        return DocsIndex(passages: passages, directory: root.path)
    }

    /// The best passages for `query`, best first; passages sharing no term with it are left out.
    public func search(_ query: String, limit: Int = 3) -> [Hit] {
        let queryTerms = Array(Set(SearchTerms.terms(of: query)))
        guard !queryTerms.isEmpty, !passages.isEmpty, limit > 0 else { return [] }
        let count = Double(passages.count)
        let weights = queryTerms.compactMap { term -> (String, Double)? in
            guard let frequency = documentFrequency[term] else { return nil }
            let n = Double(frequency)
            return (term, Foundation.log((count - n + 0.5) / (n + 0.5) + 1))
        }
        guard !weights.isEmpty else { return [] }
        var hits: [Hit] = []
        for index in passages.indices {
            let counts = termCounts[index]
            let norm = Self.k1 * (1 - Self.b + Self.b * Double(lengths[index]) / averageLength)
            var score = 0.0
            for (term, idf) in weights {
                guard let tf = counts[term] else { continue }
                let frequency = Double(tf)
                score += idf * frequency * (Self.k1 + 1) / (frequency + norm)
            }
            if score > 0 { hits.append(Hit(passage: passages[index], score: score)) }
        }
        // Ties keep document order, so results are deterministic.
        return Array(
            hits.enumerated().sorted { lhs, rhs in
                lhs.element.score != rhs.element.score ? lhs.element.score > rhs.element.score : lhs.offset < rhs.offset
            }.prefix(limit).map(\.element)
        )
    }
}
