import Foundation
import HeraldProtocol
import Logging
import MCP
import SystemPackage

/// One MCP server and the official Swift SDK's `Client` talking to it: over stdio, a process the worker starts (the
/// SDK's `StdioTransport` on its stdin and stdout), or over Streamable HTTP (`StreamableHTTPTransport`). A stdio
/// server starts on first use and again after it exits: a call in flight when it dies fails at once, and the next
/// call starts it anew. An HTTP server whose session fails is connected to again by the next call.
///
/// The SDK's stdio transport reads with non-blocking reads retried every 10 ms, so an idle server costs the worker
/// about 1 % of a core; a transport over NIO pipes would wake only on data (issue 19's notes).
actor MCPServerConnection {
    /// Why a call could not be answered by the server.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    private struct Session {
        var client: Client
        /// The server's process, for a stdio server.
        var process: Process?
        var generation: Int

        var isAlive: Bool { process?.isRunning ?? true }
    }

    let configuration: MCPServerConfiguration
    let startTimeout: Duration
    let logger: Logger
    private let metrics: MCPMetrics
    private var session: Session?
    /// A stdio server's process while it starts, before it is the session's: stopped with the rest at shutdown.
    private var starting: Process?
    private var generation = 0
    /// Calls waiting on a session's process, by session and waiter, woken when it exits (or the call ends first).
    private var exitWaiters: [Int: [Int: CheckedContinuation<Void, Never>]] = [:]
    private var nextWaiter = 0
    /// The server's tools as last listed (at start, and on `notifications/tools/list_changed`).
    private(set) var tools: [MCP.Tool] = []

    init(configuration: MCPServerConfiguration, startTimeout: Duration, metrics: MCPMetrics, logger: Logger) {
        self.configuration = configuration
        self.startTimeout = startTimeout
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "mcp_server"] = "\(configuration.name)"
        self.logger = logger
    }

    /// Starts the server if it is not running; throws when it cannot be started or does not answer in time.
    func start() async throws {
        _ = try await connected()
    }

    /// Calls `tool` with `arguments`. Cancelling the calling task cancels the call: the server gets
    /// `notifications/cancelled` and the call throws `CancellationError`.
    func call(_ tool: String, arguments: [String: Value]) async throws -> CallTool.Result {
        let session = try await connected()
        let context: RequestContext<CallTool.Result> = try await session.client.callTool(name: tool, arguments: arguments)
        let client = session.client
        let generation = session.generation
        let name = configuration.name
        return try await withTaskCancellationHandler {
            try await FirstOutcome.of {
                do {
                    return try await context.value
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    // The SDK may fail the request as the server's output ends, before the exit is seen: tell them apart.
                    if await self.exits(generation, within: .seconds(3)) {
                        throw Unavailable(description: "the MCP server '\(name)' exited during the call")
                    }
                    await self.dropSession(generation)
                    throw error
                }
            } or: {
                await self.waitForExit(of: generation)
                try? await client.cancelRequest(context.requestID, reason: "the server exited")
                return Unavailable(description: "the MCP server '\(name)' exited during the call")
            }
        } onCancel: {
            Task { try? await client.cancelRequest(context.requestID, reason: "the call was cancelled or timed out") }
        }
    }

    /// Stops the server's process (or ends the HTTP session), and one still starting.
    func stop() async {
        if let starting { await Self.end(starting) }
        starting = nil
        guard let session else { return }
        self.session = nil
        await session.client.disconnect()
        if let process = session.process { await Self.end(process) }
    }

    /// Ends a server's process as MCP's stdio lifecycle says: its stdin closes (a server exits on end of input), and
    /// one still running 2 s later is killed. Not SIGTERM: Foundation's `Process` starts the child with the signal
    /// mask of the spawning thread, where the service lifecycle blocks SIGTERM and SIGINT, so the child never sees them.
    private static func end(_ process: Process) async {
        guard process.isRunning else { return }
        (process.standardInput as? Pipe)?.fileHandleForWriting.closeFile()
        for _ in 0..<40 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Drops an HTTP session that failed, so the next call connects again.
    private func dropSession(_ generation: Int) async {
        guard let session, session.generation == generation, session.process == nil else { return }
        await stop()
    }

    // MARK: Sessions

    private func connected() async throws -> Session {
        if let session, session.isAlive { return session }
        if session != nil { await stop() }
        let started = try await launch()
        session = started
        return started
    }

    private func launch() async throws -> Session {
        generation += 1
        let generation = self.generation
        let transport: any Transport
        let process: Process?
        switch configuration.transport {
        case .stdio(let command, let arguments, let environment):
            (transport, process) = try spawn(command: command, arguments: arguments, environment: environment, generation: generation)
            starting = process
        case .http(let url, let headers):
            transport = StreamableHTTPTransport(endpoint: url, headers: headers, logger: logger)
            process = nil
        }
        let client = Client(name: "herald-worker", version: "1")
        await client.onNotification(ToolListChangedNotification.self) { [weak self] _ in
            Task { await self?.refreshTools(generation: generation) }
        }
        defer { starting = nil }
        do {
            let listed = try await Self.within(startTimeout, "start and list its tools") {
                _ = try await client.connect(transport: transport)
                return try await Self.listAllTools(client)
            }
            tools = listed
            logger.info("MCP server ready", metadata: ["tools": "\(listed.map(\.name).joined(separator: ","))"])
        } catch {
            await client.disconnect()
            if let process { await Self.end(process) }
            throw Unavailable(description: "the MCP server '\(configuration.name)' did not start: \(error)")
        }
        return Session(client: client, process: process, generation: generation)
    }

    /// Starts a stdio server's process; returns the SDK's transport on its pipes.
    private func spawn(
        command: String,
        arguments: [String],
        environment: [String: String],
        generation: Int
    ) throws -> (any Transport, Process) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let toServer = Pipe()
        let fromServer = Pipe()
        process.standardInput = toServer
        process.standardOutput = fromServer
        process.standardError = FileHandle.nullDevice
        process.terminationHandler = { [weak self] ended in
            let status = ended.terminationStatus
            Task { await self?.exited(generation: generation, status: status) }
        }
        do {
            try process.run()
        } catch {
            throw Unavailable(description: "cannot start the MCP server '\(configuration.name)' (\(command)): \(error)")
        }
        let transport = StdioTransport(
            input: FileDescriptor(rawValue: fromServer.fileHandleForReading.fileDescriptor),
            output: FileDescriptor(rawValue: toServer.fileHandleForWriting.fileDescriptor),
            logger: logger
        )
        return (transport, process)
    }

    private func exited(generation: Int, status: Int32) {
        for waiter in (exitWaiters.removeValue(forKey: generation) ?? [:]).values { waiter.resume() }
        guard session?.generation == generation else { return }
        session = nil
        metrics.restarts(configuration.name).increment()
        logger.warning("MCP server exited; it starts again with the next call", metadata: ["status": "\(status)"])
    }

    /// Returns when the session's process exits, or when the waiting task is cancelled (its call ended first).
    private func waitForExit(of generation: Int) async {
        guard session?.generation == generation, let process = session?.process, process.isRunning else {
            // An HTTP server has no process: nothing to wait for, unless the session it was is gone.
            if session?.generation == generation, session?.process == nil { await waitForever() }
            return
        }
        nextWaiter += 1
        let waiter = nextWaiter
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    exitWaiters[generation, default: [:]][waiter] = continuation
                }
            }
        } onCancel: {
            Task { await self.stopWaiting(waiter, generation: generation) }
        }
    }

    /// Whether the session's process exits within `limit` (at once if it already has).
    private func exits(_ generation: Int, within limit: Duration) async -> Bool {
        let result = try? await FirstOutcome.of { () -> Bool in
            await self.waitForExit(of: generation)
            return !Task.isCancelled
        } or: {
            try? await Task.sleep(for: limit)
            return Unavailable(description: "still running")
        }
        return result == true
    }

    /// Suspends until the task is cancelled.
    private nonisolated func waitForever() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(86_400))
        }
    }

    private func stopWaiting(_ waiter: Int, generation: Int) {
        exitWaiters[generation]?.removeValue(forKey: waiter)?.resume()
    }

    private func refreshTools(generation: Int) async {
        guard let session, session.generation == generation else { return }
        do {
            tools = try await Self.listAllTools(session.client)
            logger.info("MCP server's tools changed", metadata: ["tools": "\(tools.map(\.name).joined(separator: ","))"])
        } catch {
            logger.warning("cannot list the MCP server's tools again", metadata: ["error": "\(error)"])
        }
    }

    private static func listAllTools(_ client: Client) async throws -> [MCP.Tool] {
        var tools: [MCP.Tool] = []
        var cursor: String?
        repeat {
            let page = try await client.listTools(cursor: cursor)
            tools += page.tools
            cursor = page.nextCursor
        } while cursor != nil && tools.count < 10_000
        return tools
    }

    /// Runs `body`, failing if it takes longer than `limit` (the caller then stops what `body` waits on).
    private static func within<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await FirstOutcome.of(body) {
            do {
                try await Task.sleep(for: limit)
            } catch {
                return nil
            }
            return Unavailable(description: "it did not \(what) within \(limit)")
        }
    }
}
