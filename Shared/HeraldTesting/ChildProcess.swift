import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn` and reaped by a thread of its own: the test harness's replacement for
/// `Foundation.Process`, whose child-exit monitoring through dispatch sources now and then crashes the test process
/// on Linux (signal 11 in `_dispatch_event_loop_drain`).
///
/// Not swift-subprocess (1.0.2 is on the build machine): its `run` ties a child's life to the closure it is given,
/// while the harness keeps services running across a test's steps, kills them with SIGKILL from any task and
/// starts them again on the same port, and must kill what a failed test leaves behind when the last reference goes.
///
/// The pid is signalled only while the child has not been reaped (the reaping and every signal hold one lock), so a
/// signal can never reach another process that reused the pid. Dropping the last reference kills the child.
public final class ChildProcess: Sendable {
    /// Where the child's standard input comes from.
    public enum Input: Sendable {
        /// `/dev/null`: the child reads end-of-file at once.
        case null
        /// A pipe whose write end the test process holds until `closeInput()` (or the last reference goes).
        case pipe
    }

    /// Where the child's standard output and standard error go: both to the same place.
    public enum Output: Sendable {
        /// `/dev/null`.
        case null
        /// The file at this path, created or truncated.
        case file(String)
        /// A pipe read by a thread of its own for as long as the child (or a child of it) holds it open, so it never
        /// fills: the first `limit` bytes are kept for `output`, and `observer` sees all of it as it comes.
        case capture(limit: Int = ChildProcess.defaultCaptureLimit, observer: (@Sendable (OutputEvent) -> Void)? = nil)
    }

    /// What a `capture` observer is told, in order, on the thread that reads the pipe.
    public enum OutputEvent: Sendable {
        case bytes(ArraySlice<UInt8>)
        /// Every writer closed the pipe: the child (and any child it started) is done writing.
        case end
    }

    /// How the child ended.
    public enum Termination: Sendable, Equatable {
        case exited(code: Int32)
        case signalled(signal: Int32)
        /// Something else in the test process reaped the child (`waitpid(-1, …)`), so how it ended is unknown.
        case reapedElsewhere

        /// `Foundation.Process.terminationStatus`'s meaning: the exit code, or the signal's number; -1 if unknown.
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): signal
            case .reapedElsewhere: -1
            }
        }
    }

    /// How much captured output `output` keeps unless the spawn says otherwise: 1 MiB.
    public static let defaultCaptureLimit = 1 << 20

    public let pid: Int32
    /// The program that was started.
    public let executable: String
    let monitor: ChildProcessMonitor

    init(pid: Int32, executable: String, monitor: ChildProcessMonitor) {
        self.pid = pid
        self.executable = executable
        self.monitor = monitor
    }

    deinit {
        kill9()
        closeInput()
    }

    /// Whether the child has not been reaped yet. Right after a signal kills it this may still say so for a moment;
    /// `waitForExit()` is what waits for the end.
    public var isRunning: Bool { monitor.state.withLockedValue { $0.termination == nil } }

    /// How the child ended; nil while it runs.
    public var termination: Termination? { monitor.state.withLockedValue { $0.termination } }

    /// Sends `signal` unless the child was reaped already; returns whether it was sent.
    @discardableResult
    public func send(_ signal: Int32) -> Bool {
        monitor.state.withLockedValue { state in
            guard state.termination == nil else { return false }
            return kill(pid, signal) == 0
        }
    }

    /// Asks the child to shut down gracefully (SIGTERM); returns whether the signal was sent.
    @discardableResult
    public func terminate() -> Bool { send(SIGTERM) }

    /// Kills the child at once (SIGKILL), as a crash would; returns whether the signal was sent.
    @discardableResult
    public func kill9() -> Bool { send(SIGKILL) }

    /// Waits until the child has exited and been reaped; returns the exit code, or the number of the signal that
    /// ended it (as `Foundation.Process.terminationStatus` does).
    public func waitForExit() async -> Int32 {
        await waitForTermination().status
    }

    /// Waits until the child has exited and been reaped.
    public func waitForTermination() async -> Termination {
        await withCheckedContinuation { continuation in
            let termination = monitor.state.withLockedValue { state -> Termination? in
                if state.termination == nil { state.exitWaiters.append(continuation) }
                return state.termination
            }
            if let termination { continuation.resume(returning: termination) }
        }
    }

    /// The captured output so far (its first `limit` bytes), as UTF-8; empty unless the output is `capture`d.
    public var output: String {
        monitor.state.withLockedValue { String(decoding: $0.output, as: UTF8.self) }
    }

    /// Waits until every writer has closed the captured output's pipe and returns what was kept of it; returns at
    /// once unless the output is `capture`d.
    @discardableResult
    public func waitForOutputEnd() async -> String {
        await withCheckedContinuation { continuation in
            let ended = monitor.state.withLockedValue { state -> Bool in
                if !state.outputEnded { state.outputWaiters.append(continuation) }
                return state.outputEnded
            }
            if ended { continuation.resume() }
        }
        return output
    }

    /// Closes the test process's end of the input pipe: the child reads end-of-file. Does nothing the second time,
    /// or unless the input is a `pipe`.
    public func closeInput() {
        let descriptor = monitor.state.withLockedValue { state in
            defer { state.inputDescriptor = nil }
            return state.inputDescriptor
        }
        if let descriptor { close(descriptor) }
    }
}

/// A failure to start a child, with a readable message.
public struct ChildProcessError: Error, CustomStringConvertible, Equatable {
    /// The `errno` value of the call that failed, or 0 for input refused before any call.
    public let code: Int32
    public let description: String

    init(_ what: String, code: Int32) {
        self.code = code
        self.description = code == 0 ? what : "\(what): \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// What the reaping and reading threads share with the `ChildProcess`: they hold this, not the process, so dropping
/// the process's last reference still kills the child.
final class ChildProcessMonitor: Sendable {
    struct State {
        var termination: ChildProcess.Termination?
        var exitWaiters: [CheckedContinuation<ChildProcess.Termination, Never>] = []
        var output: [UInt8] = []
        var outputEnded: Bool
        var outputWaiters: [CheckedContinuation<Void, Never>] = []
        var inputDescriptor: Int32?
    }

    let state: NIOLockedValueBox<State>

    init(capturesOutput: Bool, inputDescriptor: Int32?) {
        state = NIOLockedValueBox(State(outputEnded: !capturesOutput, inputDescriptor: inputDescriptor))
    }
}
