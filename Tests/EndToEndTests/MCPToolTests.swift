import Foundation
import HeraldProtocol
import HeraldTesting
import Testing

/// Tools of MCP servers (DESIGN.md section 11) on the real worker, against a server written with the official Python
/// SDK (Tests/mcp/tools_server.py) that the worker starts itself over stdio.
@Suite(.timeLimit(.minutes(5)))
struct MCPToolTests {
    private static let server = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("mcp/tools_server.py").path

    /// The worker's settings for the test server (as `py`), its marks going to `marks`, plus `more` servers.
    private static func environment(marks: URL, more: String = "", extra: [String: String] = [:]) -> [String: String] {
        let servers = #"{"py": {"command": "python3", "args": ["\#(server)"], "env": {"HERALD_MCP_TEST_MARKS": "\#(marks.path)"}}\#(more)}"#
        return ["HERALD_MCP_SERVERS": servers].merging(extra) { _, new in new }
    }

    private static func marksFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("herald-mcp-\(UUID().uuidString).marks")
    }

    private static func marks(_ file: URL) -> [String] {
        ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Runs `message` on one thread until the worker offers the MCP tool it names (the worker lists the server's tools
    /// in the background at start); returns the run whose call went through.
    private static func runOnceOffered(_ message: String, client: ChatTestClient) async throws -> [EventFrame] {
        var frames: [EventFrame] = []
        var thread: String?
        try await waitUntil("the MCP tool is offered", interval: .milliseconds(200)) {
            let queued = try await client.startRun(message, threadID: thread)
            thread = queued.threadID
            frames = try await client.events(untilEndOf: queued.runID)
            return !frames.toolExecutions.isEmpty
        }
        return frames
    }

    private static func completion(_ frames: [EventFrame]) throws -> EventPayload.ToolCompleted {
        try #require(frames.toolCompletions.first)
    }

    @Test func aCallReachesTheServerAndItsResultTheEvents() async throws {
        let marks = Self.marksFile()
        try await withDeployment(workers: 1, environment: Self.environment(marks: marks)) { deployment in
            let client = try await deployment.connect()
            // The worker lists the server's tools in the background at start: wait until a run can call one.
            let frames = try await Self.runOnceOffered(#"use py.add with {"a": 2, "b": 40}"#, client: client)
            expectValidRuns(frames)
            #expect(frames.toolExecutions.map(\.toolName) == ["py.add"])
            #expect(frames.toolExecutions.first?.arguments == ["a": 2, "b": 40])
            let done = try Self.completion(frames)
            #expect(done.status == .success)
            #expect(done.result?["content"] == "42" || done.result?["result"] == 42, "\(String(describing: done.result))")

            // A tool error is the call's error, not the run's.
            let failing = try await client.startRun(#"use py.fail with {"message": "no such file"}"#, threadID: frames.first?.threadID)
            let failed = try await client.events(untilEndOf: failing.runID)
            expectValidRuns(failed)
            let failure = try Self.completion(failed)
            let thread = frames.first?.threadID
            #expect(failure.status == .error)
            #expect(failure.error?.contains("no such file") == true, "\(String(describing: failure.error))")
            #expect(failed.terminal?.type == .agentCompleted)

            // A tool the server adds later is offered once it says its list changed.
            let learning = try await client.startRun("use py.learn with {}", threadID: thread)
            #expect(try Self.completion(try await client.events(untilEndOf: learning.runID)).status == .success)
            var shouted: EventPayload.ToolCompleted?
            try await waitUntil("the worker lists the new tool", interval: .milliseconds(100)) {
                let queued = try await client.startRun(#"use py.shout with {"text": "hello"}"#, threadID: thread)
                shouted = try await client.events(untilEndOf: queued.runID).toolCompletions.first
                return shouted != nil
            }
            #expect(shouted?.toolName == "py.shout")
            #expect(shouted?.result?["content"] == "HELLO" || shouted?.result?["result"] == "HELLO", "\(String(describing: shouted?.result))")

            let metrics = try await HTTPProbe.get(port: try #require(deployment.workers.first).port, path: "/metrics").body
            #expect(metrics.contains(#"herald_worker_mcp_calls_total{server="py"}"#))
            #expect(metrics.contains(#"herald_worker_mcp_errors_total{server="py"} 1"#))
            #expect(metrics.contains(#"herald_worker_mcp_call_duration_seconds_count{server="py"}"#))
            await client.close()
        }
    }

    @Test func aCallPastItsTimeoutIsCancelledOnTheServer() async throws {
        let marks = Self.marksFile()
        let environment = Self.environment(marks: marks, extra: ["HERALD_TOOL_TIMEOUT_SECONDS": "1"])
        try await withDeployment(workers: 1, environment: environment) { deployment in
            let client = try await deployment.connect()
            let frames = try await Self.runOnceOffered("use py.block with {}", client: client)
            expectValidRuns(frames)
            #expect(try Self.completion(frames).status == .timeout)
            try await waitUntil("the server hears notifications/cancelled") { Self.marks(marks).contains("block cancelled") }
            await client.close()
        }
    }

    @Test func aCancelledRunStopsTheCallOnTheServer() async throws {
        let marks = Self.marksFile()
        try await withDeployment(workers: 1, environment: Self.environment(marks: marks)) { deployment in
            let client = try await deployment.connect()
            try await waitUntil("the worker started the MCP server") { Self.marks(marks).contains("started") }
            // The call never answers by itself: once it reached the server, only the cancellation can end it.
            var runID = ""
            var thread: String?
            try await waitUntil("the MCP tool is offered", interval: .milliseconds(200)) {
                let queued = try await client.startRun("use py.block with {}", threadID: thread)
                thread = queued.threadID
                runID = queued.runID
                let frame = try await client.firstMatch { frame -> EventType? in
                    guard case .event(let event) = frame, event.runID == queued.runID else { return nil }
                    return event.type == .toolExecuting || event.event.isRunTerminal ? event.type : nil
                }
                return frame == .toolExecuting
            }
            try await waitUntil("the call reaches the server") { Self.marks(marks).contains("block started") }
            try await client.send(.cancelRun(runID: runID))
            let cancelled = try await client.events(untilEndOf: runID)
            expectValidRuns(cancelled)
            #expect(try Self.completion(cancelled).status == .cancelled)
            try await waitUntil("the server hears notifications/cancelled") { Self.marks(marks).contains("block cancelled") }
            await client.close()
        }
    }

    @Test func aServerThatCrashesFailsThatCallAndServesTheNextAndOneThatNeverStartsHarmsNothing() async throws {
        let marks = Self.marksFile()
        // `stuck` reads its input and never answers initialize: its tools never appear, and the worker serves runs all the
        // same. The start limit is generous, not short: `py` restarts within it after the crash however loaded the
        // machine is (Python importing the SDK takes seconds under load), and `stuck` stays stuck whatever the limit.
        let tag = UUID().uuidString
        let stuck = #", "stuck": {"command": "python3", "args": ["-c", "import sys; sys.stdin.read()  # \#(tag)"]}"#
        let environment = Self.environment(marks: marks, more: stuck, extra: ["HERALD_MCP_START_TIMEOUT_SECONDS": "120"])
        try await withDeployment(workers: 1, environment: environment) { deployment in
            let client = try await deployment.connect()
            // The first run may come before the server is up: count its starts from the one the crash follows.
            _ = try await Self.runOnceOffered(#"use py.add with {"a": 0, "b": 0}"#, client: client)
            let startsBefore = Self.marks(marks).filter { $0 == "started" }.count
            let frames = try await Self.runOnceOffered("use py.crash with {}", client: client)
            expectValidRuns(frames)
            let crashed = try Self.completion(frames)
            #expect(crashed.status == .error)
            #expect(crashed.error?.contains("exited") == true, "\(String(describing: crashed.error)) \(Self.marks(marks))")

            let again = try await client.startRun(#"use py.add with {"a": 1, "b": 1}"#, threadID: frames.first?.threadID)
            let after = try await client.events(untilEndOf: again.runID)
            expectValidRuns(after)
            let completed = try Self.completion(after)
            #expect(completed.status == .success, "\(String(describing: completed.error))")
            #expect(Self.marks(marks).filter { $0 == "started" }.count == startsBefore + 1, "the server was started again, once")

            let builtIn = try await client.startRun("what is 6*7?", threadID: frames.first?.threadID)
            let answered = try await client.events(untilEndOf: builtIn.runID)
            #expect(answered.finalReport?.report.contains("6*7 = 42") == true)
            await client.close()
        }
        // The worker stopped gracefully: no server it started, running or still starting, outlives it.
        try await waitUntil("no MCP server process outlives the worker") { Self.processes(containing: tag).isEmpty }
    }

    /// The ids of the processes whose command line holds `text`.
    private static func processes(containing text: String) -> [String] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return ids.filter { id in
            guard id.allSatisfy(\.isNumber), let line = FileManager.default.contents(atPath: "/proc/\(id)/cmdline") else { return false }
            return String(decoding: line, as: UTF8.self).contains(text)
        }
    }

    @Test func streamableHTTPServersAnswerInJSONAndAsServerSentEvents() async throws {
        let script = URL(fileURLWithPath: Self.server).deletingLastPathComponent().appendingPathComponent("http_server.py").path
        var servers: [(name: String, port: Int, process: ChildProcess)] = []
        defer { for server in servers { _ = server.process.kill9() } }
        for mode in ["json", "sse"] {
            let port = try FreePort.allocate()
            let process = try ChildProcess.spawn("/usr/bin/env", arguments: ["python3", script, String(port), mode])
            servers.append((mode, port, process))
        }
        for server in servers {
            try await waitUntil("the \(server.name) MCP server listens", interval: .milliseconds(100)) {
                (try? await HTTPProbe.status(port: server.port, path: "/mcp")) != nil
            }
        }
        let entries = servers.map { #""web_\#($0.name)": {"url": "http://127.0.0.1:\#($0.port)/mcp", "headers": {"X-Herald-Test": "1"}}"# }
        let environment = ["HERALD_MCP_SERVERS": "{" + entries.joined(separator: ", ") + "}", "HERALD_TOOL_TIMEOUT_SECONDS": "2"]
        try await withDeployment(workers: 1, environment: environment) { deployment in
            let client = try await deployment.connect()
            for server in servers {
                let frames = try await Self.runOnceOffered(#"use web_\#(server.name).add with {"a": 40, "b": 2}"#, client: client)
                expectValidRuns(frames)
                let done = try Self.completion(frames)
                #expect(done.toolName == "web_\(server.name).add")
                #expect(done.status == .success, "\(server.name): \(String(describing: done.error))")
                #expect(done.result?["content"] == "42" || done.result?["result"] == 42, "\(server.name): \(String(describing: done.result))")
                // A call past its time limit ends as a timeout; the server's session goes on.
                let slow = try await client.startRun("use web_\(server.name).block with {}", threadID: frames.first?.threadID)
                let timedOut = try await client.events(untilEndOf: slow.runID)
                #expect(try Self.completion(timedOut).status == .timeout)
                let again = try await client.startRun(#"use web_\#(server.name).add with {"a": 1, "b": 1}"#, threadID: frames.first?.threadID)
                #expect(try Self.completion(try await client.events(untilEndOf: again.runID)).status == .success)
            }
            await client.close()
        }
    }

    @Test func approvalsApplyToMCPToolsByName() async throws {
        let marks = Self.marksFile()
        let environment = Self.environment(marks: marks, extra: ["HERALD_APPROVAL_TOOLS": "py.add"])
        try await withDeployment(workers: 1, environment: environment) { deployment in
            let client = try await deployment.connect()
            var request: EventPayload.ApprovalRequested?
            var runID = ""
            var thread: String?
            try await waitUntil("the MCP tool is offered", interval: .milliseconds(200)) {
                let queued = try await client.startRun(#"use py.add with {"a": 20, "b": 22}"#, threadID: thread)
                thread = queued.threadID
                runID = queued.runID
                let frame = try await client.firstMatch { frame -> IncomingFrame? in
                    guard case .event(let event) = frame, event.runID == queued.runID else { return nil }
                    return event.type == .approvalRequested || event.event.isRunTerminal ? frame : nil
                }
                if case .event(let event) = frame, case .approvalRequested(let asked) = event.event.payload { request = asked }
                return request != nil
            }
            let asked = try #require(request)
            #expect(asked.toolName == "py.add")
            try await client.send(.approvalResponse(.init(approvalID: asked.approvalID, decision: .approve)))
            let frames = try await client.events(untilEndOf: runID)
            expectValidRuns(frames)
            #expect(try Self.completion(frames).status == .success)
            await client.close()
        }
    }
}
