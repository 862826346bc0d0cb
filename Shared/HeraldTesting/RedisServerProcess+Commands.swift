import Logging
import Redis

extension RedisServerProcess {
    /// Sends one command on a connection of its own (authenticated with the server's password) and
    /// returns the reply as text, nil for a null reply: for tests that look at what services stored.
    public func string(_ command: String, _ arguments: String...) async throws -> String? {
        let url = RedisURL(host: "127.0.0.1", port: port, password: password)
        let logger = Logger(label: "redis-server-process") { _ in SwiftLogNoOpLogHandler() }
        let connection = try await RedisConnection.connect(configuration: RedisConfiguration(url: url), logger: logger)
        do {
            let reply = try await connection.send([RedisArgument(command)] + arguments.map { RedisArgument($0) })
            await connection.close()
            return reply.string
        } catch {
            await connection.close()
            throw error
        }
    }
}
