import Foundation

/// One of Herald's built executables running as a child process, its output captured to a log file.
public final class ServiceProcess: Sendable {
    private let process: ChildProcess
    public let name: String
    public let logURL: URL
    /// The port its HTTP server (operator routes; the gateway's everything) listens on.
    public let port: Int

    public var pid: Int32 { process.pid }
    /// Whether the process has not exited yet (strictly: not been reaped yet).
    public var isRunning: Bool { process.isRunning }

    /// Where `herald-gateway`, `herald-worker` and `herald-relay` were built: `HERALD_BIN_DIR`, or the
    /// folder of the running test bundle (SwiftPM puts both in the same bin folder).
    public static var binDirectory: URL {
        if let explicit = ProcessInfo.processInfo.environment["HERALD_BIN_DIR"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // On macOS the runner sits inside a bundle; walk up to the folder holding the executables.
        while url.path.contains(".xctest"), url.path != "/" { url = url.deletingLastPathComponent() }
        return url
    }

    public init(name: String, executable: String, arguments: [String] = [], port: Int, environment: [String: String], logDirectory: URL) throws {
        let path = Self.binDirectory.appendingPathComponent(executable).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSupportError("\(path) is not built; run `swift build` first or set HERALD_BIN_DIR")
        }
        self.name = name
        self.port = port
        self.logURL = logDirectory.appendingPathComponent("\(name).log")
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HERALD_") }
        merged.merge(environment) { _, new in new }
        do {
            process = try ChildProcess.spawn(path, arguments: arguments, environment: merged, output: .file(logURL.path))
        } catch {
            throw TestSupportError("\(name): \(error)")
        }
    }

    /// Asks the process to shut down gracefully (SIGTERM); does nothing once it has exited.
    public func terminate() {
        process.terminate()
    }

    /// Kills the process at once (SIGKILL), as a crash would; does nothing once it has exited.
    public func kill9() {
        process.kill9()
    }

    /// Waits for the process to exit and returns its status: the exit code, or the number of the signal that ended it.
    public func waitForExit() async -> Int32 {
        await process.waitForExit()
    }

    /// What the process has logged so far.
    public var log: String {
        (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    }

    deinit {
        process.kill9()
    }
}

/// A failure of the test harness itself, with a readable message.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
