import Foundation
import Logging
import NIOConcurrencyHelpers

/// A whole Herald deployment as separate processes for end-to-end tests: a private redis-server,
/// relays, workers and a gateway, each the real built executable, sharing only Redis.
public final class HeraldDeployment: Sendable {
    /// The processes started so far; a test may start and read them from several tasks.
    private struct Processes {
        var gateway: ServiceProcess?
        var workers: [ServiceProcess] = []
        var relays: [ServiceProcess] = []
        var otherGateways: [ServiceProcess] = []
    }

    public let redis: RedisServerProcess
    public let logDirectory: URL
    public let environment: [String: String]
    private let processes = NIOLockedValueBox(Processes())

    /// The gateway's port, chosen when it starts.
    public var gatewayPort: Int { processes.withLockedValue { $0.gateway?.port ?? 0 } }
    public var gateway: ServiceProcess? { processes.withLockedValue { $0.gateway } }
    public var workers: [ServiceProcess] { processes.withLockedValue { $0.workers } }
    public var relays: [ServiceProcess] { processes.withLockedValue { $0.relays } }
    /// Gateways started besides the first (`startAnotherGateway`), for a client that moves from one to another.
    public var otherGateways: [ServiceProcess] { processes.withLockedValue { $0.otherGateways } }

    private init(redis: RedisServerProcess, logDirectory: URL, environment: [String: String]) {
        self.redis = redis
        self.logDirectory = logDirectory
        self.environment = environment
    }

    /// Starts Redis, then `relays` relays, `workers` workers and the gateway, and waits until each answers `/readyz`.
    /// `redisArguments` are extra `redis-server` options, e.g. `["--appendonly", "yes"]` for persistence;
    /// `redisPassword` makes Redis require it (`requirepass`), and the services get it in `HERALD_REDIS_URL`.
    /// `redisTLS` makes Redis take only TLS, and the services get a `rediss://` URL, its CA and the client
    /// certificate; `redisUser` has the services log in as that ACL user, limited by `HeraldRedisACL` to the
    /// deployment's key prefix, instead of as the default user.
    public static func start(
        workers: Int = 2,
        relays: Int = 1,
        environment: [String: String] = [:],
        redisArguments: [String] = [],
        redisPassword: String? = nil,
        redisTLS: RedisServerTLS? = nil,
        redisUser: RedisTestUser? = nil
    ) async throws -> HeraldDeployment {
        let redis = try await RedisServerProcess.start(password: redisPassword, arguments: redisArguments, tls: redisTLS)
        if let redisUser {
            do {
                let prefix = environment["HERALD_KEY_PREFIX"] ?? "herald"
                _ = try await redis.reply(HeraldRedisACL.setUser(redisUser.name, password: redisUser.password, prefix: prefix))
            } catch {
                await redis.stop()
                throw error
            }
        }
        let logDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        var redisURL = redis.url
        func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) ?? text }
        if let redisUser {
            redisURL = "\(redisTLS == nil ? "redis" : "rediss")://\(encoded(redisUser.name)):\(encoded(redisUser.password))@127.0.0.1:\(redis.port)"
        } else if let redisPassword {
            redisURL = "\(redisTLS == nil ? "redis" : "rediss")://:\(encoded(redisPassword))@127.0.0.1:\(redis.port)"
        }
        var tlsSettings: [String: String] = [:]
        if let certificates = redisTLS?.certificates {
            tlsSettings = [
                "HERALD_REDIS_TLS_CA_FILE": certificates.caFile,
                "HERALD_REDIS_TLS_CERT_FILE": certificates.clientCertificateFile,
                "HERALD_REDIS_TLS_KEY_FILE": certificates.clientKeyFile,
            ]
        }
        var base = [
            "HERALD_REDIS_URL": redisURL,
            "HERALD_OFFLINE_DELAY_MS": "1",
            "HERALD_LOG_LEVEL": "info",
            // Every test's clients come from 127.0.0.1: the guest limits are tested with their own values.
            "HERALD_GUEST_NEW_PER_MINUTE": "1000000",
            "HERALD_GUEST_RUNS_PER_HOUR": "1000000",
        ]
        base.merge(tlsSettings) { _, new in new }
        base.merge(environment) { _, new in new }
        let deployment = HeraldDeployment(redis: redis, logDirectory: logDirectory, environment: base)
        for _ in 0..<relays { try await deployment.startRelay() }
        for _ in 0..<workers { try await deployment.startWorker() }
        try await deployment.startGateway()
        return deployment
    }

    /// Starts one more worker; `environment` adds to (or overrides) the deployment's for this worker only.
    @discardableResult
    public func startWorker(environment extra: [String: String] = [:]) async throws -> ServiceProcess {
        let process = try await launch("herald-worker", name: "worker-\(workers.count + 1)", extra: extra)
        processes.withLockedValue { $0.workers.append(process) }
        return process
    }

    @discardableResult
    public func startRelay() async throws -> ServiceProcess {
        let process = try await launch("herald-relay", name: "relay-\(relays.count + 1)")
        processes.withLockedValue { $0.relays.append(process) }
        return process
    }

    public func startGateway() async throws {
        let process = try await launchGateway(name: "gateway")
        processes.withLockedValue { $0.gateway = process }
    }

    /// Starts one more gateway on the same Redis; its `port` is where clients reach it.
    @discardableResult
    public func startAnotherGateway() async throws -> ServiceProcess {
        let process = try await launchGateway(name: "gateway-\(otherGateways.count + 2)")
        processes.withLockedValue { $0.otherGateways.append(process) }
        return process
    }

    private func launchGateway(name: String) async throws -> ServiceProcess {
        try await Self.launchOnFreePort { port in
            try ServiceProcess(
                name: name,
                executable: "herald-gateway",
                port: port,
                environment: self.environment.merging(["HERALD_HOST": "127.0.0.1", "HERALD_PORT": String(port)]) { _, new in new },
                logDirectory: self.logDirectory
            )
        }
    }

    private func launch(_ executable: String, name: String, extra: [String: String] = [:]) async throws -> ServiceProcess {
        try await Self.launchOnFreePort { port in
            try ServiceProcess(
                name: name,
                executable: executable,
                port: port,
                environment: self.environment.merging(extra) { _, new in new }
                    .merging(["HERALD_ADMIN_HOST": "127.0.0.1", "HERALD_ADMIN_PORT": String(port)]) { _, new in new },
                logDirectory: self.logDirectory
            )
        }
    }

    /// Starts a process on a port that was free a moment ago and waits until it is ready. Between
    /// choosing a port and binding it another process (a parallel test's outgoing connection) may take
    /// it; then the start is repeated on another port — a race of the harness, not of the product.
    private static func launchOnFreePort(_ start: (Int) throws -> ServiceProcess) async throws -> ServiceProcess {
        var attempt = 0
        while true {
            attempt += 1
            let port = try FreePort.allocate()
            let process = try start(port)
            do {
                try await waitUntilReady(port: port, process: process)
                return process
            } catch is TestSupportError where attempt < 5 && process.log.contains("Address already in use") {
                continue
            }
        }
    }

    /// Polls `/readyz` until it answers 200; fails at once if the process exits.
    public static func waitUntilReady(port: Int, process: ServiceProcess) async throws {
        for _ in 0..<600 {
            guard process.isRunning else {
                throw TestSupportError("\(process.name) exited during start-up:\n\(process.log)")
            }
            if (try? await HTTPProbe.status(port: port, path: "/readyz")) == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("\(process.name) never became ready:\n\(process.log)")
    }

    /// A connected test client (a new guest unless a token is given).
    public func connect(token: String? = nil) async throws -> ChatTestClient {
        try await ChatTestClient.connect(port: gatewayPort, token: token)
    }

    /// Every process's log, for a failing test's report.
    public var logs: String {
        ([gateway].compactMap { $0 } + otherGateways + relays + workers).map { "== \($0.name)\n\($0.log)" }.joined(separator: "\n")
    }

    /// Stops every process gracefully, then Redis.
    public func stop() async {
        let all = ([gateway].compactMap { $0 } + otherGateways + workers + relays).filter(\.isRunning)
        for process in all { process.terminate() }
        for process in all { _ = await process.waitForExit() }
        await redis.stop()
    }
}

/// A Redis ACL user a deployment's services log in as (`HeraldDeployment.start(redisUser:)`).
public struct RedisTestUser: Sendable {
    public let name: String
    public let password: String

    public init(name: String, password: String) {
        self.name = name
        self.password = password
    }
}

/// Free TCP ports on the loopback interface.
public enum FreePort {
    /// A port nothing listens on right now (the kernel's choice for an ephemeral bind).
    public static func allocate() throws -> Int {
        try RedisServerLaunch.freePort()
    }
}
