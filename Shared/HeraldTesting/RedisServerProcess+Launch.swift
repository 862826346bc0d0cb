import Foundation
import Logging
import NIOConcurrencyHelpers
import Redis

/// One run of `redis-server` (a restart is a new run) with its watchdog.
///
/// `Foundation.Process` is not `Sendable`; the processes are only configured before launch, and afterwards this type
/// only sends signals by pid, which is why it is `@unchecked Sendable`.
///
/// Exit is read from the pid, not only from `terminationHandler`: Foundation notices a child's exit when a socket
/// the child inherited closes, and a sibling spawned at the same moment (by other code in the test process) may
/// inherit that socket too and keep it open, so the handler can come late or never.
final class RedisServerLaunch: @unchecked Sendable {
    enum Failure: Error, CustomStringConvertible {
        case notInstalled
        case portInUse
        case exited(output: String)
        case notReady(output: String)

        var description: String {
            switch self {
            case .notInstalled: "redis-server is not in PATH (install the redis-server package)"
            case .portInUse: "the port was taken"
            case .exited(let output): "redis-server exited while starting:\n\(output)"
            case .notReady(let output): "redis-server did not become ready within 10 s:\n\(output)"
            }
        }
    }

    /// Spawning one child at a time keeps the pipes of one launch out of the children of another.
    private static let spawnLock = NIOLock()

    /// Kills the server when the test process closes its end of the watchdog's stdin (on purpose or by dying), or,
    /// should another child have inherited that end, once the test process is gone.
    private static let watchdogScript = """
        parent=$PPID
        while kill -0 "$parent" 2>/dev/null; do
          read -r -t 1 _
          status=$?
          if [ "$status" -eq 0 ] || [ "$status" -gt 128 ]; then continue; fi
          break
        done
        kill -KILL "$1" 2>/dev/null
        """

    private let server: Process
    private let watchdog: Process
    private let watchdogInput: Pipe
    private let output: RedisServerOutput
    let pid: Int32

    private init(server: Process, watchdog: Process, watchdogInput: Pipe, output: RedisServerOutput) {
        self.server = server
        self.watchdog = watchdog
        self.watchdogInput = watchdogInput
        self.output = output
        self.pid = server.processIdentifier
    }

    var isRunning: Bool { !output.hasExited && Self.isAlive(pid) }

    static func start(port: Int, options: [String], password: String?) async throws -> RedisServerLaunch {
        guard let executable = executablePath("redis-server") else { throw Failure.notInstalled }
        let output = RedisServerOutput()
        let launch = try spawnLock.withLock {
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
            server.terminationHandler = { _ in output.serverExited() }
            try server.run()

            let watchdog = Process()
            watchdog.executableURL = URL(fileURLWithPath: "/bin/bash")
            watchdog.arguments = ["-c", watchdogScript, "redis-watchdog", String(server.processIdentifier)]
            let watchdogInput = Pipe()
            watchdog.standardInput = watchdogInput
            watchdog.standardOutput = FileHandle.nullDevice
            watchdog.standardError = FileHandle.nullDevice
            try watchdog.run()
            return RedisServerLaunch(server: server, watchdog: watchdog, watchdogInput: watchdogInput, output: output)
        }

        switch await output.waitUntilReady(timeout: .seconds(10)) {
        case .ready:
            break
        case .portInUse:
            await launch.kill()
            throw Failure.portInUse
        case .exited(let text):
            await launch.kill()
            throw Failure.exited(output: text)
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

    /// Stops the watchdog (so it can never signal a reused pid), kills the server and returns once it is gone.
    func kill() async {
        stopWatchdog()
        Foundation.kill(pid, SIGKILL)
        // SIGKILL takes effect at once, but what is left to wait for has no reliable event (see the type's comment).
        let deadline = ContinuousClock.now + .seconds(10)
        while isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// For `deinit`, which cannot wait.
    func killNow() {
        stopWatchdog()
        Foundation.kill(pid, SIGKILL)
    }

    private func stopWatchdog() {
        if watchdog.isRunning {
            Foundation.kill(watchdog.processIdentifier, SIGKILL)
        }
        try? watchdogInput.fileHandleForWriting.close()
    }

    /// Whether `pid` has not exited yet (a zombie has exited; it only waits to be reaped).
    private static func isAlive(_ pid: Int32) -> Bool {
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let nameEnd = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: nameEnd)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
        #else
        return Foundation.kill(pid, 0) == 0
        #endif
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

/// The server's console output, watched for the line that says it accepts connections (or why it cannot).
private final class RedisServerOutput: Sendable {
    enum Readiness: Sendable {
        case ready
        case portInUse
        case exited(output: String)
        case timedOut(output: String)
    }

    private struct State {
        var text = ""
        var outcome: Readiness?
        var hasExited = false
        var waiter: CheckedContinuation<Readiness, Never>?
    }

    private let state = NIOLockedValueBox(State())

    var hasExited: Bool { state.withLockedValue { $0.hasExited } }

    func append(_ data: Data) {
        settle { state in
            // Only the start-up output is kept; later log lines are read and dropped so the pipe never fills.
            state.text += String(decoding: data, as: UTF8.self)
            if state.text.contains("Ready to accept connections") { return .ready }
            if state.text.contains("Address already in use") { return .portInUse }
            return nil
        }
    }

    func serverExited() {
        state.withLockedValue { $0.hasExited = true }
        settle { state in .exited(output: state.text) }
    }

    func waitUntilReady(timeout: Duration) async -> Readiness {
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.settle { state in .timedOut(output: state.text) }
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let outcome = state.withLockedValue { state -> Readiness? in
                if state.outcome == nil { state.waiter = continuation }
                return state.outcome
            }
            if let outcome {
                continuation.resume(returning: outcome)
            }
        }
    }

    /// Records the first outcome `decide` finds, while there is none yet, and hands it to the waiter.
    private func settle(_ decide: (inout State) -> Readiness?) {
        let (waiter, outcome) = state.withLockedValue { state -> (CheckedContinuation<Readiness, Never>?, Readiness?) in
            guard state.outcome == nil, let outcome = decide(&state) else { return (nil, nil) }
            state.outcome = outcome
            defer { state.waiter = nil }
            return (state.waiter, outcome)
        }
        if let waiter, let outcome {
            waiter.resume(returning: outcome)
        }
    }
}
