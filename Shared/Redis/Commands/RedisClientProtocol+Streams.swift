extension RedisClientProtocol {
    /// Appends an entry; returns its ID. `maxLength` trims the stream approximately (`MAXLEN ~ n`).
    @discardableResult
    public func xadd(_ key: String, id: String = "*", maxLength: Int? = nil, fields: [(String, RedisArgument)]) async throws -> String {
        precondition(!fields.isEmpty, "XADD needs at least one field")
        var command: [RedisArgument] = ["XADD", RedisArgument(key)]
        command.reserveCapacity(6 + fields.count * 2)
        if let maxLength {
            command.append(contentsOf: ["MAXLEN", "~", RedisArgument(maxLength)])
        }
        command.append(RedisArgument(id))
        for (name, value) in fields {
            command.append(RedisArgument(name))
            command.append(value)
        }
        return try await send(command).decode()
    }

    /// Creates a consumer group (and with `makeStream` the stream); a group that already exists is not an error.
    public func xgroupCreate(_ key: String, group: String, startID: String = "$", makeStream: Bool = true) async throws {
        var command: [RedisArgument] = ["XGROUP", "CREATE", RedisArgument(key), RedisArgument(group), RedisArgument(startID)]
        if makeStream {
            command.append("MKSTREAM")
        }
        do {
            _ = try await send(command)
        } catch let error as RedisError where error.isServerError(prefix: "BUSYGROUP") {
            return
        }
    }

    /// Reads entries for `consumer` of `group`; `[]` when nothing came within `block`.
    ///
    /// With `block` the read runs on a connection that may block (`withBlockingConnection`: on the client a
    /// dedicated one, so it never holds up other commands, and cancelling the task ends it at once);
    /// `Duration.zero` waits until an entry arrives.
    public func xreadgroup(
        group: String,
        consumer: String,
        streams: [(key: String, id: String)],
        count: Int? = nil,
        block: Duration? = nil
    ) async throws -> [RedisStreamRead] {
        precondition(!streams.isEmpty, "XREADGROUP needs at least one stream")
        return try await streamRead(
            ["XREADGROUP", "GROUP", RedisArgument(group), RedisArgument(consumer)],
            streams: streams,
            count: count,
            block: block
        )
    }

    /// Reads entries after each stream's id (no consumer group); `[]` when nothing came within `block`.
    ///
    /// `block` runs the read on a connection that may block, as for `xreadgroup`.
    public func xread(streams: [(key: String, id: String)], count: Int? = nil, block: Duration? = nil) async throws -> [RedisStreamRead] {
        precondition(!streams.isEmpty, "XREAD needs at least one stream")
        return try await streamRead(["XREAD"], streams: streams, count: count, block: block)
    }

    /// `XREAD` and `XREADGROUP` alike: `head`, then COUNT, BLOCK (with a deadline that allows for it) and STREAMS.
    private func streamRead(
        _ head: [RedisArgument],
        streams: [(key: String, id: String)],
        count: Int?,
        block: Duration?
    ) async throws -> [RedisStreamRead] {
        var command = head
        command.reserveCapacity(head.count + 5 + streams.count * 2)
        if let count {
            command.append(contentsOf: ["COUNT", RedisArgument(count)])
        }
        var deadline = RedisCommandDeadline.standard
        if let block {
            let milliseconds = block.roundedUpMilliseconds
            command.append(contentsOf: ["BLOCK", RedisArgument(milliseconds)])
            deadline = milliseconds == 0 ? .none : .extended(by: .milliseconds(Int64(milliseconds)))
        }
        command.append("STREAMS")
        command.append(contentsOf: streams.map { RedisArgument($0.key) })
        command.append(contentsOf: streams.map { RedisArgument($0.id) })
        let reply: RESPValue
        if block == nil {
            reply = try await send(command)
        } else {
            reply = try await withBlockingConnection(forKey: streams[0].key) { connection in try await connection.send(command, deadline: deadline) }
        }
        return reply.isNull ? [] : try reply.decode()
    }

    /// Acknowledges entries; returns how many were pending.
    @discardableResult
    public func xack(_ key: String, group: String, ids: [String]) async throws -> Int {
        precondition(!ids.isEmpty, "XACK needs at least one ID")
        return try await send(["XACK", RedisArgument(key), RedisArgument(group)] + ids.map { RedisArgument($0) }).decode()
    }

    /// Claims entries pending longer than `minIdle` for `consumer`.
    public func xautoclaim(
        _ key: String,
        group: String,
        consumer: String,
        minIdle: Duration,
        start: String = "0-0",
        count: Int? = nil
    ) async throws -> RedisAutoClaimResult {
        var command: [RedisArgument] = [
            "XAUTOCLAIM", RedisArgument(key), RedisArgument(group), RedisArgument(consumer),
            RedisArgument(minIdle.roundedUpMilliseconds), RedisArgument(start),
        ]
        if let count {
            command.append(contentsOf: ["COUNT", RedisArgument(count)])
        }
        return try await send(command).decode()
    }

    /// Entries from `start` to `end` (inclusive; `-` and `+` are the ends of the stream).
    public func xrange(_ key: String, start: String = "-", end: String = "+", count: Int? = nil) async throws -> [RedisStreamEntry] {
        var command: [RedisArgument] = ["XRANGE", RedisArgument(key), RedisArgument(start), RedisArgument(end)]
        if let count {
            command.append(contentsOf: ["COUNT", RedisArgument(count)])
        }
        return try await send(command).decode()
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so a short positive wait never becomes 0 (which Redis reads as "forever").
    var roundedUpMilliseconds: Int {
        let (seconds, attoseconds) = components
        let milliseconds = Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
        return attoseconds % 1_000_000_000_000_000 > 0 ? milliseconds + 1 : milliseconds
    }
}
