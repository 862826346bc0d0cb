import NIOCore

/// A type that can be read from a RESP reply.
public protocol RESPValueDecodable {
    init(fromRESP value: RESPValue) throws
}

extension RESPValue {
    /// Decodes this reply as `T`; an error reply throws the server's error, any other mismatch a `.decoding` error.
    public func decode<T: RESPValueDecodable>(as type: T.Type = T.self) throws -> T {
        try T(fromRESP: self)
    }
}

extension RedisError {
    /// The error for a reply that does not have the shape `type` needs; an error reply keeps the server's message.
    static func decoding(_ value: RESPValue, as type: Any.Type) -> RedisError {
        if case .error(let message) = value { return .server(message) }
        return RedisError(kind: .decoding, message: "cannot decode \(type) from reply \(value)")
    }
}

extension RESPValue: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws {
        self = value
    }
}

extension String: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws {
        guard let string = value.string else { throw RedisError.decoding(value, as: String.self) }
        self = string
    }
}

extension Int: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws {
        guard let int = value.int else { throw RedisError.decoding(value, as: Int.self) }
        self = int
    }
}

extension Bool: RESPValueDecodable {
    /// Integers are true when non-zero (`EXISTS`, `SISMEMBER`); the status `OK` is true.
    public init(fromRESP value: RESPValue) throws {
        if let int = value.int {
            self = int != 0
        } else if case .simpleString("OK") = value {
            self = true
        } else {
            throw RedisError.decoding(value, as: Bool.self)
        }
    }
}

extension ByteBuffer: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws {
        switch value {
        case .bulkString(let buffer): self = buffer
        case .simpleString(let string): self = ByteBuffer(string: string)
        default: throw RedisError.decoding(value, as: ByteBuffer.self)
        }
    }
}

extension Array: RESPValueDecodable where Element: RESPValueDecodable {
    /// Reads an array reply; `[UInt8]` instead reads the bytes of a string reply.
    public init(fromRESP value: RESPValue) throws {
        if Element.self == UInt8.self, let bytes = value.bytes as? Self {
            self = bytes
            return
        }
        guard let elements = value.array else { throw RedisError.decoding(value, as: Self.self) }
        self = try elements.map { try Element(fromRESP: $0) }
    }
}

extension Optional: RESPValueDecodable where Wrapped: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws {
        self = value.isNull ? nil : try Wrapped(fromRESP: value)
    }
}

extension UInt8: RESPValueDecodable {
    /// Lets `[UInt8]` decode through `Array`; a single byte comes from an integer reply.
    public init(fromRESP value: RESPValue) throws {
        guard let int = value.int, let byte = UInt8(exactly: int) else { throw RedisError.decoding(value, as: UInt8.self) }
        self = byte
    }
}
