import Foundation
import HeraldProtocol

/// Searches Herald's bundled documentation (BM25 over its passages).
public struct SearchDocsTool: Tool {
    public let name = "search_docs"
    public let description = "Searches Herald's documentation and returns the best matching passages with their file and heading."
    public let parameters: JSONValue = [
        "type": "object",
        "properties": [
            "query": ["type": "string", "description": "What to look for, in a few words"],
            "limit": ["type": "integer", "minimum": 1, "maximum": 10, "description": "How many passages to return (default 3)"],
        ],
        "required": ["query"],
        "additionalProperties": false,
    ]

    /// Passages scoring below this share of the best one are left out.
    static let relativeCutoff = 0.4

    /// Longest passage text returned, so one result cannot flood the model or the chat.
    static let maximumPassageLength = 800

    private let index: DocsIndex

    public init(index: DocsIndex) {
        self.index = index
    }

    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard let query = try arguments.stringArgument("query")?.trimmingCharacters(in: .whitespacesAndNewlines), !query.isEmpty else {
            throw ToolError("argument 'query' is required")
        }
        let limit = Int(try arguments.numberArgument("limit") ?? 3)
        guard (1...10).contains(limit) else {
            throw ToolError("limit must be between 1 and 10")
        }
        guard !index.passages.isEmpty else {
            throw ToolError("no documentation is installed on this worker (set HERALD_DOCS_DIR)")
        }
        // Passages scoring far below the best match only share a common word with the query.
        let ranked = index.search(query, limit: limit)
        let best = ranked.first?.score ?? 0
        let hits = ranked.filter { $0.score >= best * Self.relativeCutoff }
        return [
            "query": .string(query),
            "results": .array(
                hits.map { hit in
                    let text = hit.passage.text
                    return [
                        "file": .string(hit.passage.file),
                        "heading": .string(hit.passage.heading),
                        "text": .string(text.count > Self.maximumPassageLength ? String(text.prefix(Self.maximumPassageLength)) + "…" : text),
                        "score": .number((hit.score * 1000).rounded() / 1000),
                    ]
                }
            ),
        ]
    }
}
