import Logging
import Redis

extension RedisServerProcess {
    /// Sends one command on a connection of its own (authenticated with the server's password, over TLS with the
    /// client certificate when the server has TLS) and returns the reply as text, nil for a null reply: for tests
    /// that look at what services stored.
    public func string(_ command: String, _ arguments: String...) async throws -> String? {
        let logger = Logger(label: "redis-server-process") { _ in SwiftLogNoOpLogHandler() }
        let connection = try await RedisConnection.connect(configuration: adminConfiguration, logger: logger)
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

extension RedisServerProcess {
    /// Sends one command on a connection of its own (as the default user, like `string`) and returns the reply.
    public func reply(_ arguments: [String]) async throws -> RESPValue {
        let logger = Logger(label: "redis-server-process") { _ in SwiftLogNoOpLogHandler() }
        let connection = try await RedisConnection.connect(configuration: adminConfiguration, logger: logger)
        do {
            let reply = try await connection.send(arguments.map { RedisArgument($0) })
            await connection.close()
            return reply
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Every key the server holds and its time to live in seconds (-1: none), found with `SCAN`.
    public func keysWithExpiry() async throws -> [(key: String, ttl: Int)] {
        let logger = Logger(label: "redis-server-process") { _ in SwiftLogNoOpLogHandler() }
        let connection = try await RedisConnection.connect(configuration: adminConfiguration, logger: logger)
        var found: [(key: String, ttl: Int)] = []
        do {
            var cursor = "0"
            repeat {
                let reply = try await connection.send(["SCAN", RedisArgument(cursor), "COUNT", "1000"])
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string else { break }
                cursor = next
                for key in parts[1].array?.compactMap(\.string) ?? [] {
                    let ttl = try await connection.send(["TTL", RedisArgument(key)]).int ?? -2
                    // -2: the key expired between the scan and the look.
                    if ttl != -2 { found.append((key, ttl)) }
                }
            } while cursor != "0"
            await connection.close()
            return found
        } catch {
            await connection.close()
            throw error
        }
    }
}
