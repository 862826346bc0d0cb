import NIOCore

/// One binary-safe argument of a Redis command.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    // Each source keeps its own representation so building a command copies bytes once, when it is encoded.
    enum Storage: Sendable {
        case string(String)
        /// A part of a string, kept without copying it (e.g. a JSON text after its first byte).
        case substring(Substring)
        case bytes([UInt8])
        case buffer(ByteBuffer)
        case integer(Int)
    }

    let storage: Storage

    public init(_ string: String) { self.storage = .string(string) }
    public init(_ substring: Substring) { self.storage = .substring(substring) }
    public init(_ integer: Int) { self.storage = .integer(integer) }
    public init(_ bytes: [UInt8]) { self.storage = .bytes(bytes) }
    public init(_ buffer: ByteBuffer) { self.storage = .buffer(buffer) }
    public init(stringLiteral value: String) { self.storage = .string(value) }
    public init(integerLiteral value: Int) { self.storage = .integer(value) }

    /// Appends the argument's bytes as Redis receives them.
    func append(to bytes: inout [UInt8]) {
        switch storage {
        case .string(let string):
            var string = string
            string.withUTF8 { bytes.append(contentsOf: $0) }
        case .substring(let substring):
            var substring = substring
            substring.withUTF8 { bytes.append(contentsOf: $0) }
        case .bytes(let array):
            bytes.append(contentsOf: array)
        case .buffer(let buffer):
            buffer.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
        case .integer(let integer):
            var text = String(integer)
            text.withUTF8 { bytes.append(contentsOf: $0) }
        }
    }

    /// The argument's bytes; equality and hashing compare these, so `"1"` equals `1`.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        append(to: &bytes)
        return bytes
    }

    public static func == (lhs: RedisArgument, rhs: RedisArgument) -> Bool {
        lhs.bytes == rhs.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes)
    }
}

extension RedisArgument: CustomStringConvertible {
    public var description: String {
        switch storage {
        case .string(let string): string
        case .substring(let substring): String(substring)
        case .integer(let integer): String(integer)
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        case .buffer(let buffer): String(buffer: buffer)
        }
    }
}

/// A value that can be passed as a command argument.
public protocol RedisArgumentConvertible: Sendable {
    var redisArgument: RedisArgument { get }
}

extension RedisArgument: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { self }
}

extension String: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension Substring: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension Int: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension ByteBuffer: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}
