import Foundation
import HeraldTesting
import NIOConcurrencyHelpers
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The harness's own child processes: what `RedisServerProcess` and `ServiceProcess` start their programs with.
@Suite("ChildProcess", .timeLimit(.minutes(1)))
struct ChildProcessTests {
    @Test func capturesStandardOutputAndErrorAndTheExitCode() async throws {
        let child = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "echo out; echo err >&2; exit 3"], output: .capture())
        #expect(await child.waitForTermination() == .exited(code: 3))
        #expect(await child.waitForExit() == 3)
        #expect(await child.waitForOutputEnd() == "out\nerr\n")
        #expect(!child.isRunning)
        // Reaped: the pid is no child of the test process any more, so no zombie is left behind.
        var status: Int32 = 0
        #expect(waitpid(child.pid, &status, WNOHANG) == -1 && errno == ECHILD)
    }

    @Test func passesArgumentsAndEnvironmentAsGiven() async throws {
        let child = try ChildProcess.spawn(
            "/bin/sh",
            arguments: ["-c", #"printf '%s|%s|%s|%s' "$CHILD_PROCESS_TEST" "$1" "$#" "${HOME-unset}""#, "sh", "two words", "*"],
            environment: ["CHILD_PROCESS_TEST": "é = value", "PATH": "/usr/bin:/bin"],
            output: .capture()
        )
        #expect(await child.waitForExit() == 0)
        #expect(await child.waitForOutputEnd() == "é = value|two words|2|unset")
    }

    @Test func writesOutputToAFileItTruncates() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("child-process-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "what an earlier run left\n".write(toFile: path, atomically: false, encoding: .utf8)
        let child = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "echo one; echo two >&2"], output: .file(path))
        #expect(await child.waitForExit() == 0)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\ntwo\n")
        #expect(child.output == "")
    }

    @Test func keepsTheFirstBytesUpToTheLimitButReadsAllSoTheChildNeverBlocks() async throws {
        // Several times a pipe's capacity: a reader that stopped at the limit would leave `head` blocked for good.
        let total = 300_000
        let seen = NIOLockedValueBox((bytes: 0, ended: false, bytesAfterEnd: false))
        let child = try ChildProcess.spawn(
            "/usr/bin/head",
            arguments: ["-c", String(total), "/dev/zero"],
            output: .capture(limit: 1_000) { event in
                seen.withLockedValue { seen in
                    switch event {
                    case .bytes(let bytes):
                        seen.bytes += bytes.count
                        if seen.ended { seen.bytesAfterEnd = true }
                    case .end:
                        seen.ended = true
                    }
                }
            }
        )
        #expect(await child.waitForExit() == 0)
        #expect(await child.waitForOutputEnd().utf8.count == 1_000)
        let observed = seen.withLockedValue { $0 }
        #expect(observed.bytes == total)
        #expect(observed.ended)
        #expect(!observed.bytesAfterEnd)
    }

    @Test func terminateEndsTheChildEvenIfTheSpawningThreadBlocksSIGTERM() async throws {
        // A child inherits the spawning thread's signal mask unless the spawn resets it; a pool thread may block
        // SIGTERM, and then `terminate()` would do nothing.
        var blocked = sigset_t()
        var previous = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        let spawned = Result { try ChildProcess.spawn("/bin/sleep", arguments: ["600"]) }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        let child = try spawned.get()

        #expect(child.isRunning)
        #expect(child.terminate())
        #expect(await child.waitForTermination() == .signalled(signal: SIGTERM))
        #expect(await child.waitForExit() == SIGTERM)
    }

    @Test func kill9EndsTheChildAndNoSignalFollowsTheReaping() async throws {
        let child = try ChildProcess.spawn("/bin/sleep", arguments: ["600"])
        #expect(child.kill9())
        #expect(await child.waitForExit() == SIGKILL)
        #expect(child.termination == .signalled(signal: SIGKILL))
        // Reaped: the pid may belong to another process by now, so nothing is sent to it.
        #expect(!child.kill9())
        #expect(!child.terminate())
        #expect(await child.waitForExit() == SIGKILL)
    }

    @Test func closingTheInputPipeEndsAChildReadingIt() async throws {
        let child = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "read line; echo \"read: $?\""], input: .pipe, output: .capture())
        #expect(child.isRunning)
        // Every waiter gets the status, whether it asked before the child exited or after.
        async let first = child.waitForExit()
        async let second = child.waitForExit()
        child.closeInput()
        child.closeInput()
        #expect(await first == 0)
        #expect(await second == 0)
        #expect(await child.waitForExit() == 0)
        #expect(await child.waitForOutputEnd() == "read: 1\n")
    }

    @Test func aMissingExecutableIsAClearError() throws {
        let path = "/nonexistent/herald-no-such-program"
        let error = try #require(throws: ChildProcessError.self) { try ChildProcess.spawn(path) }
        #expect(error.code == ENOENT)
        #expect(error.description.contains(path))
    }

    @Test func aNULByteInAnArgumentIsAClearError() throws {
        let error = try #require(throws: ChildProcessError.self) {
            try ChildProcess.spawn("/bin/echo", arguments: ["a\u{0}b"])
        }
        #expect(error.code == 0)
        #expect(error.description.contains("NUL"))
        let badName = try #require(throws: ChildProcessError.self) {
            try ChildProcess.spawn("/bin/echo", environment: ["A=B": "c"])
        }
        #expect(badName.description.contains("environment variable name"))
    }

    @Test func noDescriptorLeaksIntoAnotherChild() async throws {
        // A first child with both pipes open in the test process while the second one starts.
        let first = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "read line"], input: .pipe, output: .capture())
        let second = try ChildProcess.spawn("/bin/ls", arguments: ["-l", "/proc/self/fd"], output: .capture())
        #expect(await second.waitForExit() == 0)
        let listing = await second.waitForOutputEnd()
        // `N -> TARGET` for each open descriptor of `ls`.
        var targets: [String: String] = [:]
        for line in listing.split(separator: "\n") where line.contains(" -> ") {
            let parts = line.split(separator: " -> ", maxSplits: 1)
            let descriptor = String(parts[0].split(separator: " ").last ?? "")
            targets[descriptor] = String(parts[1])
        }
        let own = "/proc/\(second.pid)/fd"
        #expect(targets["0"] == "/dev/null", "\(listing)")
        #expect(targets["1"]?.hasPrefix("pipe:") == true, "\(listing)")
        #expect(targets["2"] == targets["1"], "\(listing)")
        // Besides 0, 1 and 2 only what `ls` opened itself: the directory it lists.
        #expect(targets.filter { !["0", "1", "2"].contains($0.key) }.values.sorted() == [own], "\(listing)")

        first.closeInput()
        // `read` met the end of its input: status 1.
        #expect(await first.waitForExit() == 1)
    }

    @Test func childrenSpawnedTogetherHoldNoneOfEachOthersPipes() async throws {
        // Each child waits for the end of its input. Had a sibling inherited the test process's end of that pipe,
        // closing it here would not end the input, and the child would wait until the suite's time limit.
        let children = try await withThrowingTaskGroup(of: ChildProcess.self) { group in
            for index in 0..<16 {
                group.addTask {
                    try ChildProcess.spawn(
                        "/bin/sh",
                        arguments: ["-c", "read line; echo \"$1\"", "sh", String(index)],
                        input: .pipe,
                        output: .capture()
                    )
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for child in children { child.closeInput() }
        var outputs: [String] = []
        for child in children {
            #expect(await child.waitForExit() == 0)
            outputs.append(await child.waitForOutputEnd())
        }
        #expect(outputs.sorted() == (0..<16).map { "\($0)\n" }.sorted())
    }
}
