import Foundation

/// One of Herald's built executables running as a child process, its output captured to a log file.
public final class ServiceProcess: @unchecked Sendable {
    // Foundation.Process is not Sendable; this type only reads it after launch and guards signals by pid.
    private let process: Process
    public let name: String
    public let logURL: URL
    /// The port its HTTP server (operator routes; the gateway's everything) listens on.
    public let port: Int

    public var pid: Int32 { process.processIdentifier }
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
        guard FileManager.default.createFile(atPath: logURL.path, contents: nil) else {
            throw TestSupportError("cannot create \(logURL.path)")
        }
        let log = try FileHandle(forWritingTo: logURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HERALD_") }
        merged.merge(environment) { _, new in new }
        process.environment = merged
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// Asks the process to shut down gracefully (SIGTERM).
    public func terminate() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    public func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits for the process to exit and returns its status.
    public func waitForExit() async -> Int32 {
        while process.isRunning {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// What the process has logged so far.
    public var log: String {
        (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A failure of the test harness itself, with a readable message.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
