import Foundation
import Logging
import NIOConcurrencyHelpers
import Redis

/// A private `redis-server` for one test: 127.0.0.1 on a free port, no persistence, its own temporary directory;
/// with `RedisServerTLS`, TLS only on that port (`--port 0 --tls-port PORT`).
///
/// It is always stopped: by `stop()`, in `deinit`, and, should the test process die, by a watchdog process that
/// kills it when the test process's end of a pipe closes or the test process is gone, so `swift test` leaves no
/// server behind. Suites may run in parallel: each server has its own port and directory.
public final class RedisServerProcess: Sendable {
    public let port: Int
    /// The `requirepass` password, if the server has one.
    public let password: String?
    /// How the server takes TLS; nil: plain TCP.
    public let tls: RedisServerTLS?
    /// What the harness's own connections (ping, `string`, `reply`) use: the CA and, for `tls-auth-clients`,
    /// the client certificate of `tls`.
    let adminTLS: RedisTLS?
    private let arguments: [String]
    private let directory: URL
    private let current: NIOLockedValueBox<RedisServerLaunch?>

    /// `redis://127.0.0.1:PORT`, or `rediss://…` with TLS (without credentials).
    public var url: String { "\(tls == nil ? "redis" : "rediss")://127.0.0.1:\(port)" }

    /// Whether the server process is running.
    public var isRunning: Bool { current.withLockedValue { $0?.isRunning ?? false } }

    private init(
        port: Int,
        password: String?,
        tls: RedisServerTLS?,
        adminTLS: RedisTLS?,
        arguments: [String],
        directory: URL,
        launch: RedisServerLaunch
    ) {
        self.port = port
        self.password = password
        self.tls = tls
        self.adminTLS = adminTLS
        self.arguments = arguments
        self.directory = directory
        self.current = NIOLockedValueBox(launch)
    }

    deinit {
        current.withLockedValue { $0?.killNow() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts a server and returns once it answers `PING`; `password` sets `requirepass`, `arguments` are extra
    /// `redis-server` options such as `["--maxmemory", "10mb"]`, `tls` makes its port a TLS port.
    public static func start(password: String? = nil, arguments: [String] = [], tls: RedisServerTLS? = nil) async throws -> RedisServerProcess {
        let adminTLS = try tls.map { tls in
            try RedisTLS(
                caFile: tls.certificates.caFile,
                certificateFile: tls.certificates.clientCertificateFile,
                keyFile: tls.certificates.clientKeyFile,
                serverName: tls.certificates.nameForLoopback
            )
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let options = serverOptions(password: password, directory: directory, extra: (tls?.serverOptions ?? []) + arguments)
        var attempt = 0
        while true {
            attempt += 1
            let port = try RedisServerLaunch.freePort()
            do {
                let launch = try await RedisServerLaunch.start(port: port, options: options, password: password, tls: adminTLS)
                return RedisServerProcess(
                    port: port,
                    password: password,
                    tls: tls,
                    adminTLS: adminTLS,
                    arguments: options,
                    directory: directory,
                    launch: launch
                )
            } catch RedisServerLaunch.Failure.portInUse where attempt < 10 {
                continue
            } catch {
                try? FileManager.default.removeItem(at: directory)
                throw error
            }
        }
    }

    /// Kills the server with SIGKILL, as a crash would, and returns once it is gone.
    public func kill() async {
        await current.withLockedValue { $0 }?.kill()
    }

    /// Starts the server again on the same port (empty: it persists nothing); kills it first if it still runs.
    public func restart() async throws {
        await kill()
        var attempt = 0
        while true {
            attempt += 1
            do {
                let launch = try await RedisServerLaunch.start(port: port, options: arguments, password: password, tls: adminTLS)
                current.withLockedValue { $0 = launch }
                return
            } catch RedisServerLaunch.Failure.portInUse where attempt < 50 {
                // Another process may hold the port for a moment (an outgoing connection's ephemeral port).
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Stops the server and removes its directory. The server persists nothing, so SIGKILL loses nothing and
    /// needs no shutdown to wait for.
    public func stop() async {
        await kill()
        try? FileManager.default.removeItem(at: directory)
    }

    private static func serverOptions(password: String?, directory: URL, extra: [String]) -> [String] {
        var options = [
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", directory.path,
            "--daemonize", "no",
            "--enable-debug-command", "local",
        ]
        if let password {
            options += ["--requirepass", password]
        }
        return options + extra
    }
}

/// Starts a private `redis-server` for `body` and always stops it afterwards.
@discardableResult
public func withRedisServer<T>(
    password: String? = nil,
    arguments: [String] = [],
    tls: RedisServerTLS? = nil,
    _ body: (RedisServerProcess) async throws -> T
) async throws -> T {
    let server = try await RedisServerProcess.start(password: password, arguments: arguments, tls: tls)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}
