extension RedisClient {
    /// Appends an entry; returns its ID. `maxLength` trims the stream approximately (`MAXLEN ~ n`).
    @discardableResult
    public func xadd(_ key: String, id: String = "*", maxLength: Int? = nil, fields: [(String, RedisArgument)]) async throws -> String {
        try await pool.connection().xadd(key, id: id, maxLength: maxLength, fields: fields)
    }

    /// Creates a consumer group (and with `makeStream` the stream); a group that already exists is not an error.
    public func xgroupCreate(_ key: String, group: String, startID: String = "$", makeStream: Bool = true) async throws {
        try await pool.connection().xgroupCreate(key, group: group, startID: startID, makeStream: makeStream)
    }

    /// Reads entries for `consumer` of `group`; `[]` when nothing came within `block`.
    ///
    /// With `block` the read runs on a dedicated connection, so it never holds up other commands; cancelling the
    /// task ends it at once. `Duration.zero` blocks until an entry arrives.
    public func xreadgroup(
        group: String,
        consumer: String,
        streams: [(key: String, id: String)],
        count: Int? = nil,
        block: Duration? = nil
    ) async throws -> [RedisStreamRead] {
        guard block != nil else {
            return try await pool.connection().xreadgroup(group: group, consumer: consumer, streams: streams, count: count)
        }
        return try await withDedicatedConnection { connection in
            try await connection.xreadgroup(group: group, consumer: consumer, streams: streams, count: count, block: block)
        }
    }

    /// Reads entries after each stream's id, with no consumer group; `[]` when nothing came within `block`.
    /// With `block` the read runs on a dedicated connection, as `xreadgroup` does.
    public func xread(streams: [(key: String, id: String)], count: Int? = nil, block: Duration? = nil) async throws -> [RedisStreamRead] {
        guard block != nil else {
            return try await pool.connection().xread(streams: streams, count: count)
        }
        return try await withDedicatedConnection { connection in
            try await connection.xread(streams: streams, count: count, block: block)
        }
    }

    /// Acknowledges entries; returns how many were pending.
    @discardableResult
    public func xack(_ key: String, group: String, ids: [String]) async throws -> Int {
        try await pool.connection().xack(key, group: group, ids: ids)
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
        try await pool.connection().xautoclaim(key, group: group, consumer: consumer, minIdle: minIdle, start: start, count: count)
    }

    /// Entries from `start` to `end` (inclusive; `-` and `+` are the ends of the stream).
    public func xrange(_ key: String, start: String = "-", end: String = "+", count: Int? = nil) async throws -> [RedisStreamEntry] {
        try await pool.connection().xrange(key, start: start, end: end, count: count)
    }
}
