import Foundation
import HeraldProtocol
import Testing

@testable import Worker

@Suite("Docs search")
struct DocsSearchTests {
    static let architecture = """
        # Herald architecture

        Herald carries every step of an agent's work from a worker to the chat page.

        ## Resume without gaps

        A connection that reconnects sends `resume` with the last `seq` it saw. The gateway replays
        the history after that seq, then passes live frames on, dropping duplicates.

        ## Event partitions

        The worker's event sink appends each event to one of the relay's input streams, chosen by a
        hash of the thread id, so a thread's events stay in order.

        ```
        # not a heading: inside a code fence
        XADD herald:events:3 * event {...}
        ```
        """

    static let settings = """
        # Settings

        `HERALD_OFFLINE_DELAY_MS` sets the offline model's delay between streamed words.

        ## Run lease

        A worker renews a run lease while it runs; the watchdog reports a run whose lease lapsed as worker_lost.
        """

    private var index: DocsIndex {
        DocsIndex(
            passages: MarkdownPassages.split(Self.architecture, file: "architecture.md") + MarkdownPassages.split(Self.settings, file: "settings.md")
        )
    }

    @Test("markdown splits into passages under their heading trail; fenced # lines are not headings")
    func split() {
        let passages = MarkdownPassages.split(Self.architecture, file: "architecture.md")
        #expect(
            passages.map(\.heading) == [
                "Herald architecture",
                "Herald architecture › Resume without gaps",
                "Herald architecture › Event partitions",
            ]
        )
        #expect(passages[2].text.contains("# not a heading: inside a code fence"))
        #expect(passages.allSatisfy { $0.file == "architecture.md" })
    }

    @Test(
        "the passage that answers the query ranks first",
        arguments: [
            ("how does resume replay missed events after reconnecting", "Herald architecture › Resume without gaps"),
            ("which partition stream does a thread's event go to", "Herald architecture › Event partitions"),
            ("run lease watchdog worker lost", "Settings › Run lease"),
            ("offline delay between words", "Settings"),
        ]
    )
    func ranking(_ query: String, _ heading: String) {
        #expect(index.search(query, limit: 3).first?.passage.heading == heading)
    }

    @Test("queries sharing no term with the docs find nothing")
    func noMatch() {
        #expect(index.search("kubernetes helm chart").isEmpty)
        #expect(index.search("").isEmpty)
    }

    @Test("terms fold plurals and keep snake_case names whole and split")
    func terms() {
        #expect(SearchTerms.terms(of: "Events and queries") == ["event", "query"])
        #expect(SearchTerms.terms(of: "agent_started") == ["agent_started", "agent", "started"])
        #expect(SearchTerms.terms(of: "Herald's status") == ["herald", "status"])
    }

    @Test("the index loads a docs folder; the locator finds it walking up from the executable")
    func loadAndLocate() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("herald-docs-\(UUID().uuidString)")
        let docs = root.appendingPathComponent("docs")
        let bin = root.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: docs.appendingPathComponent("guides"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.architecture.write(to: docs.appendingPathComponent("architecture.md"), atomically: true, encoding: .utf8)
        try Self.settings.write(to: docs.appendingPathComponent("guides/settings.md"), atomically: true, encoding: .utf8)

        let located = DocsLocator.locate(currentDirectory: bin, executable: bin.appendingPathComponent("herald-worker"))
        #expect(located?.standardizedFileURL.path == docs.standardizedFileURL.path)
        let index = try DocsIndex.load(directory: try #require(located))
        #expect(Set(index.passages.map(\.file)) == ["architecture.md", "guides/settings.md"])
        #expect(index.search("run lease").first?.passage.file == "guides/settings.md")
        #expect(DocsLocator.locate(currentDirectory: bin, executable: nil) == nil)
    }

    @Test("search_docs returns passages with file and heading, and says when no docs are installed")
    func tool() async throws {
        let context = ToolContext(runID: "r", threadID: "t", userID: "u", toolCallID: "c", logger: TestSupport.logger)
        let result = try await SearchDocsTool(index: index).run(arguments: ["query": "resume reconnect"], context: context)
        guard case .array(let hits)? = result["results"] else {
            Issue.record("no results array in \(result)")
            return
        }
        #expect(hits.first?["file"] == "architecture.md")
        #expect(hits.first?["heading"] == "Herald architecture › Resume without gaps")
        await #expect(throws: ToolError("no documentation is installed on this worker (set HERALD_DOCS_DIR)")) {
            try await SearchDocsTool(index: .empty).run(arguments: ["query": "resume"], context: context)
        }
    }
}

@Suite("Bundled docs")
struct BundledDocsTests {
    /// The repository's docs folder, found the way the worker finds it from its executable.
    private func index() throws -> DocsIndex {
        let here = URL(fileURLWithPath: #filePath)
        let docs = try #require(DocsLocator.locate(currentDirectory: URL(fileURLWithPath: "/nonexistent-herald-cwd"), executable: here))
        return try DocsIndex.load(directory: docs)
    }

    @Test(
        "questions about Herald find the page that answers them",
        arguments: [
            ("how do I add a tool", "faq.md"),
            ("calculator modulo precedence", "tools.md"),
            ("what happens when redis goes down", "faq.md"),
            ("worker shutdown grace period", "worker.md"),
            ("resume after reconnect after_seq", "protocol.md"),
        ]
    )
    func answers(_ query: String, _ file: String) throws {
        #expect(try index().search(query, limit: 1).first?.passage.file == file)
    }
}
