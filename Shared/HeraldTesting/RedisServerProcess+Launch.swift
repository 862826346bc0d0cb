import Foundation
import Logging
import NIOConcurrencyHelpers
import Redis

/// One run of `redis-server` (a restart is a new run) with its watchdog, both `ChildProcess`es.
///
/// Neither inherits the other's pipes, nor those of any other child the test process starts at the same moment:
/// with `Foundation.Process` a sibling spawned meanwhile could inherit the server's output pipe and keep it open, so
/// the end of the server's output came late or never. `ChildProcess` makes every pipe close-on-exec and closes every
/// other descriptor in the child.
final class RedisServerLaunch: Sendable {
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

    /// Kills the server when the test process closes its end of the watchdog's stdin (on purpose or by dying), or,
    /// should the pipe stay open anyway, once the test process is gone.
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

    /// How much of the server's console output its `ChildProcess` keeps; `RedisServerOutput` keeps the start-up part.
    private static let outputLimit = 64 * 1024

    private let server: ChildProcess
    private let watchdog: ChildProcess

    private init(server: ChildProcess, watchdog: ChildProcess) {
        self.server = server
        self.watchdog = watchdog
    }

    var pid: Int32 { server.pid }
    var isRunning: Bool { server.isRunning }

    /// Starts `redis-server` on `port`, a TLS port when `tls` (the harness's own client side of it) is given.
    static func start(port: Int, options: [String], password: String?, tls: RedisTLS?) async throws -> RedisServerLaunch {
        guard let executable = ChildProcess.executablePath(named: "redis-server") else { throw Failure.notInstalled }
        let output = RedisServerOutput()
        let server = try ChildProcess.spawn(
            executable,
            arguments: (tls == nil ? ["--port", String(port)] : ["--port", "0", "--tls-port", String(port)]) + options,
            output: .capture(limit: outputLimit) { event in
                switch event {
                case .bytes(let bytes): output.append(bytes)
                case .end: output.serverExited()
                }
            }
        )
        let watchdog: ChildProcess
        do {
            watchdog = try ChildProcess.spawn(
                "/bin/bash",
                arguments: ["-c", watchdogScript, "redis-watchdog", String(server.pid)],
                input: .pipe
            )
        } catch {
            server.kill9()
            _ = await server.waitForExit()
            throw error
        }
        let launch = RedisServerLaunch(server: server, watchdog: watchdog)

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
            try await ping(port: port, password: password, tls: tls)
        } catch {
            await launch.kill()
            throw error
        }
        return launch
    }

    /// Confirms the server answers, with the client under test.
    private static func ping(port: Int, password: String?, tls: RedisTLS?) async throws {
        let configuration = RedisServerProcess.adminConfiguration(port: port, password: password, tls: tls)
        let logger = Logger(label: "redis-server-process") { _ in SwiftLogNoOpLogHandler() }
        let connection = try await RedisConnection.connect(configuration: configuration, logger: logger)
        do {
            try await connection.ping()
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Stops the watchdog first (so it can never signal a reused pid), then kills the server and returns once it
    /// is gone (reaped).
    func kill() async {
        watchdog.kill9()
        watchdog.closeInput()
        _ = await watchdog.waitForExit()
        server.kill9()
        _ = await server.waitForExit()
    }

    /// For `deinit`, which cannot wait: the watchdog gets its SIGKILL before the server.
    func killNow() {
        watchdog.kill9()
        watchdog.closeInput()
        server.kill9()
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
        var bytes: [UInt8] = []
        var text: String { String(decoding: bytes, as: UTF8.self) }
        var outcome: Readiness?
        var waiter: CheckedContinuation<Readiness, Never>?
    }

    private let state = NIOLockedValueBox(State())

    func append(_ bytes: ArraySlice<UInt8>) {
        settle { state in
            // Only the start-up output is kept; later log lines are read and dropped so the pipe never fills.
            // Bytes, not text, are gathered: a chunk may end inside a character.
            state.bytes += bytes
            let text = state.text
            if text.contains("Ready to accept connections") { return .ready }
            if text.contains("Address already in use") { return .portInUse }
            return nil
        }
    }

    /// The server closed its output: it has exited (all it printed was appended before).
    func serverExited() {
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
