import Foundation
import Logging
import NIOConcurrencyHelpers
import Redis

/// One run of `redis-server` (a restart is a new run) with its watchdog.
///
/// `Foundation.Process` is not `Sendable`; the processes are only configured before launch, and afterwards this type
/// only sends signals by pid and waits for the termination handlers, which is why it is `@unchecked Sendable`.
final class RedisServerLaunch: @unchecked Sendable {
    enum Failure: Error, CustomStringConvertible {
        case notInstalled
        case portInUse
        case exited(status: Int32, output: String)
        case notReady(output: String)

        var description: String {
            switch self {
            case .notInstalled: "redis-server is not in PATH (install the redis-server package)"
            case .portInUse: "the port was taken"
            case .exited(let status, let output): "redis-server exited with status \(status) while starting:\n\(output)"
            case .notReady(let output): "redis-server did not become ready within 10 s:\n\(output)"
            }
        }
    }

    private let server: Process
    private let watchdog: Process
    private let watchdogInput: Pipe
    private let output: RedisServerOutput
    private let exit = RedisServerExit()

    private init(server: Process, watchdog: Process, watchdogInput: Pipe, output: RedisServerOutput) {
        self.server = server
        self.watchdog = watchdog
        self.watchdogInput = watchdogInput
        self.output = output
    }

    var isRunning: Bool { !exit.hasExited }

    static func start(port: Int, options: [String], password: String?) async throws -> RedisServerLaunch {
        guard let executable = executablePath("redis-server") else { throw Failure.notInstalled }
        let output = RedisServerOutput()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: executable)
        server.arguments = ["--port", String(port)] + options
        let stdout = Pipe()
        server.standardOutput = stdout
        server.standardError = stdout
        server.standardInput = FileHandle.nullDevice
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                output.append(data)
            }
        }

        // The watchdog blocks reading a pipe only this process writes to; when this process dies the pipe closes
        // and the watchdog kills the server.
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        let watchdogInput = Pipe()
        watchdog.standardInput = watchdogInput
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice

        let launch = RedisServerLaunch(server: server, watchdog: watchdog, watchdogInput: watchdogInput, output: output)
        server.terminationHandler = { process in
            output.serverExited(status: process.terminationStatus)
            launch.exit.exited()
        }
        try server.run()
        watchdog.arguments = ["-c", "while read -r _; do :; done; kill -KILL \"$0\" 2>/dev/null", String(server.processIdentifier)]
        try watchdog.run()

        switch await output.waitUntilReady(timeout: .seconds(10)) {
        case .ready:
            break
        case .exited(let status, let text):
            await launch.kill()
            throw text.contains("Address already in use") ? Failure.portInUse : Failure.exited(status: status, output: text)
        case .timedOut(let text):
            await launch.kill()
            throw Failure.notReady(output: text)
        }
        do {
            try await ping(port: port, password: password)
        } catch {
            await launch.kill()
            throw error
        }
        return launch
    }

    /// Confirms the server answers, with the client under test.
    private static func ping(port: Int, password: String?) async throws {
        let url = RedisURL(host: "127.0.0.1", port: port, password: password)
        let logger = Logger(label: "redis-server-process") { _ in SwiftLogNoOpLogHandler() }
        let connection = try await RedisConnection.connect(configuration: RedisConfiguration(url: url), logger: logger)
        do {
            try await connection.ping()
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Stops the watchdog (so it can never signal a reused pid), kills the server and waits until it is gone.
    func kill() async {
        stopWatchdog()
        guard !exit.hasExited else { return }
        Foundation.kill(server.processIdentifier, SIGKILL)
        await exit.wait()
    }

    /// For `deinit`, which cannot wait.
    func killNow() {
        stopWatchdog()
        if !exit.hasExited {
            Foundation.kill(server.processIdentifier, SIGKILL)
        }
    }

    private func stopWatchdog() {
        if watchdog.isRunning {
            Foundation.kill(watchdog.processIdentifier, SIGKILL)
        }
        try? watchdogInput.fileHandleForWriting.close()
    }

    /// A port that was free a moment ago: bind to port 0 and read what the kernel chose. Another process may
    /// take it before redis-server binds it; `start` then retries with another.
    static func freePort() throws -> Int {
        let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw RedisError(kind: .connectFailed, message: "socket() failed: errno \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(socket, address, length) == 0 && getsockname(socket, address, &length) == 0
            }
        }
        guard bound else { throw RedisError(kind: .connectFailed, message: "cannot bind a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func executablePath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":")
            .map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// The server's console output, watched for the line that says it accepts connections.
private final class RedisServerOutput: Sendable {
    enum Readiness: Sendable {
        case ready
        case exited(status: Int32, output: String)
        case timedOut(output: String)
    }

    private struct State {
        var text = ""
        var exitStatus: Int32?
        var waiter: CheckedContinuation<Readiness, Never>?
        var isReady = false
    }

    private static let readyLine = "Ready to accept connections"
    private let state = NIOLockedValueBox(State())

    func append(_ data: Data) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Readiness, Never>? in
            // Only the start-up output is kept; later log lines are read and dropped so the pipe never fills.
            guard !state.isReady else { return nil }
            state.text += String(decoding: data, as: UTF8.self)
            guard state.text.contains(Self.readyLine) else { return nil }
            state.isReady = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: .ready)
    }

    func serverExited(status: Int32) {
        let (waiter, text) = state.withLockedValue { state in
            state.exitStatus = status
            defer { state.waiter = nil }
            return (state.waiter, state.text)
        }
        waiter?.resume(returning: .exited(status: status, output: text))
    }

    func waitUntilReady(timeout: Duration) async -> Readiness {
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.timedOut()
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let immediate = state.withLockedValue { state -> Readiness? in
                if state.isReady { return .ready }
                if let status = state.exitStatus { return .exited(status: status, output: state.text) }
                state.waiter = continuation
                return nil
            }
            if let immediate {
                continuation.resume(returning: immediate)
            }
        }
    }

    private func timedOut() {
        let (waiter, text) = state.withLockedValue { state in
            defer { state.waiter = nil }
            return (state.waiter, state.text)
        }
        waiter?.resume(returning: .timedOut(output: text))
    }
}

/// Lets any number of tasks wait for the server process to exit.
private final class RedisServerExit: Sendable {
    private let state = NIOLockedValueBox((exited: false, waiters: [CheckedContinuation<Void, Never>]()))

    var hasExited: Bool { state.withLockedValue { $0.exited } }

    func exited() {
        let waiters = state.withLockedValue { state in
            state.exited = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters {
            waiter.resume()
        }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state in
                if !state.exited { state.waiters.append(continuation) }
                return state.exited
            }
            if done {
                continuation.resume()
            }
        }
    }
}
