import NIOCore

/// One RESP2 reply from Redis.
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int)
    case bulkString(ByteBuffer)
    case null
    case array([RESPValue])
}

extension RESPValue {
    /// The text of a simple or bulk string (bulk strings are read as UTF-8).
    public var string: String? {
        switch self {
        case .simpleString(let string): string
        case .bulkString(let buffer): String(buffer: buffer)
        default: nil
        }
    }

    /// An integer reply, or a simple or bulk string that holds a decimal integer (as `GET` of a counter returns).
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .simpleString, .bulkString: self.string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The elements of an array reply.
    public var array: [RESPValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// Whether this is the null reply (a missing key, a timed-out blocking read).
    public var isNull: Bool {
        if case .null = self { true } else { false }
    }

    /// The raw bytes of a simple or bulk string.
    public var bytes: [UInt8]? {
        switch self {
        case .simpleString(let string): Array(string.utf8)
        case .bulkString(let buffer): Array(buffer.readableBytesView)
        default: nil
        }
    }
}

extension RESPValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .simpleString(let string): "+\(string)"
        case .error(let message): "-\(message)"
        case .integer(let value): ":\(value)"
        case .bulkString(let buffer):
            "$\(String(decoding: buffer.readableBytesView.prefix(64), as: UTF8.self).debugDescription)\(buffer.readableBytes > 64 ? "… (\(buffer.readableBytes) bytes)" : "")"
        case .null: "(nil)"
        case .array(let elements): "[\(elements.map(\.description).joined(separator: ", "))]"
        }
    }
}
