import CHeraldSpawn
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ChildProcess {
    /// Starts `executable` (a path; no `PATH` search) with `arguments` (not counting the program's name) and
    /// `environment` (nil: the test process's own).
    ///
    /// The child starts with no signal blocked and every signal at its default disposition, whichever thread spawns
    /// it, and inherits no descriptor but its standard input, output and error: the pipes are close-on-exec from the
    /// moment they exist, and every other descriptor is closed in the child before `exec`.
    public static func spawn(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        input: Input = .null,
        output: Output = .null
    ) throws -> ChildProcess {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let strings = [executable] + arguments + environment.flatMap { [$0.key, $0.value] }
        if let bad = strings.first(where: { $0.utf8.contains(0) }) {
            throw ChildProcessError("cannot start \(executable): \(bad.debugDescription) holds a NUL byte", code: 0)
        }
        if let key = environment.keys.first(where: { $0.isEmpty || $0.contains("=") }) {
            throw ChildProcessError("cannot start \(executable): \(key.debugDescription) is no environment variable name", code: 0)
        }

        // The test process's ends (kept) and the child's ends (closed here once the child has its copies).
        var ends = SpawnEnds()
        defer { ends.closeChildEnds() }
        do {
            var actions = posix_spawn_file_actions_t()
            try check(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init")
            defer { posix_spawn_file_actions_destroy(&actions) }
            var attributes = posix_spawnattr_t()
            try check(posix_spawnattr_init(&attributes), "posix_spawnattr_init")
            defer { posix_spawnattr_destroy(&attributes) }
            try check(herald_spawnattr_clean(&attributes), "posix_spawnattr_setflags")

            switch input {
            case .null:
                try check(posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0), "open /dev/null")
            case .pipe:
                let (read, write) = try makePipe()
                ends.child.append(read)
                ends.input = write
                try check(posix_spawn_file_actions_adddup2(&actions, read, 0), "posix_spawn_file_actions_adddup2")
            }
            let target: Int32
            switch output {
            case .null:
                try check(posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0), "open /dev/null")
                target = 1
            case .file(let path):
                let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard file >= 0 else { throw ChildProcessError("cannot open \(path) for \(executable)'s output", code: errno) }
                ends.child.append(file)
                target = file
            case .capture:
                let (read, write) = try makePipe()
                ends.child.append(write)
                ends.output = read
                target = write
            }
            if target != 1 {
                try check(posix_spawn_file_actions_adddup2(&actions, target, 1), "posix_spawn_file_actions_adddup2")
            }
            try check(posix_spawn_file_actions_adddup2(&actions, 1, 2), "posix_spawn_file_actions_adddup2")
            // Last, so the descriptors the actions above duplicate are still open when they run.
            try check(herald_spawn_file_actions_close_from(&actions, 3), "posix_spawn_file_actions_addclosefrom_np")

            var pid: pid_t = 0
            let result = withCStrings([executable] + arguments) { argv in
                withCStrings(environment.map { "\($0.key)=\($0.value)" }) { envp in
                    posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
                }
            }
            guard result == 0 else { throw ChildProcessError("cannot start \(executable)", code: result) }

            let monitor = ChildProcessMonitor(capturesOutput: ends.output != nil, inputDescriptor: ends.input)
            ends.input = nil
            startReaping(pid: pid, monitor: monitor)
            if let descriptor = ends.output, case .capture(let limit, let observer) = output {
                ends.output = nil
                startReading(descriptor, of: pid, limit: limit, observer: observer, monitor: monitor)
            }
            return ChildProcess(pid: pid, executable: executable, monitor: monitor)
        } catch {
            ends.closeParentEnds()
            throw error
        }
    }

    /// The first executable file named `name` in the test process's `PATH`.
    public static func executablePath(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":")
            .map { "\($0)/\(name)" }
            .first { access($0, X_OK) == 0 }
    }

    private static func check(_ result: Int32, _ call: String) throws {
        guard result == 0 else { throw ChildProcessError("\(call) failed", code: result) }
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [-1, -1]
        guard herald_pipe_cloexec(&descriptors) == 0 else { throw ChildProcessError("cannot create a pipe", code: errno) }
        return (descriptors[0], descriptors[1])
    }

    /// Calls `body` with `strings` as a NULL-terminated array of C strings, valid only during the call.
    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Reaps the child on a thread of its own, as soon as it exits.
    ///
    /// The thread waits with `WNOWAIT`, which leaves the child a zombie (its pid still taken), then reaps it and
    /// records the end under the lock every signal takes: no signal can fall between the reaping and the record.
    private static func startReaping(pid: pid_t, monitor: ChildProcessMonitor) {
        let thread = Thread {
            var info = siginfo_t()
            var result: Int32
            repeat {
                result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT)
            } while result == -1 && errno == EINTR
            let (waiters, termination) = monitor.state.withLockedValue { state in
                var termination = ChildProcess.Termination.reapedElsewhere
                if result == 0 {
                    // The child is a zombie now: this returns at once.
                    var status: Int32 = 0
                    var reaped: pid_t
                    repeat {
                        reaped = waitpid(pid, &status, 0)
                    } while reaped == -1 && errno == EINTR
                    var value: Int32 = 0
                    if reaped == pid {
                        termination = herald_wait_status_exited(status, &value) == 1 ? .exited(code: value) : .signalled(signal: value)
                    }
                }
                state.termination = termination
                defer { state.exitWaiters = [] }
                return (state.exitWaiters, termination)
            }
            for waiter in waiters { waiter.resume(returning: termination) }
        }
        thread.name = "reap \(pid)"
        thread.start()
    }

    /// Reads the output pipe on a thread of its own, with blocking reads, until every writer has closed it.
    private static func startReading(
        _ descriptor: Int32,
        of pid: pid_t,
        limit: Int,
        observer: (@Sendable (OutputEvent) -> Void)?,
        monitor: ChildProcessMonitor
    ) {
        let thread = Thread {
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                let bytes = chunk[..<count]
                monitor.state.withLockedValue { state in
                    let room = max(0, limit - state.output.count)
                    state.output += bytes.prefix(room)
                }
                observer?(.bytes(bytes))
            }
            close(descriptor)
            let waiters = monitor.state.withLockedValue { state in
                state.outputEnded = true
                defer { state.outputWaiters = [] }
                return state.outputWaiters
            }
            observer?(.end)
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "output \(pid)"
        thread.start()
    }
}

/// The descriptors of one spawn: the child's ends go once it has its copies; the test process's ends go to the
/// `ChildProcess` (or are closed if the spawn fails).
private struct SpawnEnds {
    var child: [Int32] = []
    var input: Int32?
    var output: Int32?

    mutating func closeChildEnds() {
        for descriptor in child { close(descriptor) }
        child = []
    }

    mutating func closeParentEnds() {
        for descriptor in [input, output].compactMap({ $0 }) { close(descriptor) }
        input = nil
        output = nil
    }
}
