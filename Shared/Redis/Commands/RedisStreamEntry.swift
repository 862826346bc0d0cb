import NIOCore

/// One entry of a Redis stream: its ID and its field/value pairs in order.
public struct RedisStreamEntry: Sendable {
    public var id: String
    public var fields: [(name: String, value: ByteBuffer)]

    public init(id: String, fields: [(name: String, value: ByteBuffer)]) {
        self.id = id
        self.fields = fields
    }

    /// The value of the first field called `field`.
    public subscript(field: String) -> ByteBuffer? {
        fields.first { $0.name == field }?.value
    }

    /// The value of `field` as UTF-8 text.
    public func string(_ field: String) -> String? {
        self[field].map { String(buffer: $0) }
    }
}

extension RedisStreamEntry: RESPValueDecodable {
    /// Reads `[id, [field, value, …]]`; an entry deleted while pending comes back with no fields.
    public init(fromRESP value: RESPValue) throws {
        guard let pair = value.array, pair.count == 2, let id = pair[0].string else {
            throw RedisError.decoding(value, as: RedisStreamEntry.self)
        }
        self.id = id
        guard let flat = pair[1].array else {
            guard pair[1].isNull else { throw RedisError.decoding(value, as: RedisStreamEntry.self) }
            self.fields = []
            return
        }
        guard flat.count.isMultiple(of: 2) else { throw RedisError.decoding(value, as: RedisStreamEntry.self) }
        var fields: [(name: String, value: ByteBuffer)] = []
        fields.reserveCapacity(flat.count / 2)
        for index in stride(from: 0, to: flat.count, by: 2) {
            fields.append((try flat[index].decode(as: String.self), try flat[index + 1].decode(as: ByteBuffer.self)))
        }
        self.fields = fields
    }
}

/// The entries `XREADGROUP` returned from one stream.
public struct RedisStreamRead: Sendable {
    public var key: String
    public var entries: [RedisStreamEntry]

    public init(key: String, entries: [RedisStreamEntry]) {
        self.key = key
        self.entries = entries
    }
}

extension RedisStreamRead: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws {
        guard let pair = value.array, pair.count == 2 else { throw RedisError.decoding(value, as: RedisStreamRead.self) }
        self.key = try pair[0].decode()
        self.entries = try pair[1].decode()
    }
}

/// What `XAUTOCLAIM` returned: where to continue, the entries now owned by the caller, and the IDs of pending
/// entries that no longer exist in the stream (Redis removed them from the pending list).
public struct RedisAutoClaimResult: Sendable {
    public var nextStart: String
    public var entries: [RedisStreamEntry]
    public var deletedIDs: [String]

    public init(nextStart: String, entries: [RedisStreamEntry], deletedIDs: [String]) {
        self.nextStart = nextStart
        self.entries = entries
        self.deletedIDs = deletedIDs
    }
}

extension RedisAutoClaimResult: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws {
        guard let parts = value.array, parts.count >= 2 else { throw RedisError.decoding(value, as: RedisAutoClaimResult.self) }
        self.nextStart = try parts[0].decode()
        self.entries = try parts[1].decode()
        self.deletedIDs = parts.count > 2 ? try parts[2].decode() : []
    }
}
