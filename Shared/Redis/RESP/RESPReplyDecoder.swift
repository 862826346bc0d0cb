import CHiredis
import NIOCore

/// Parses RESP replies with a hiredis `redisReader`.
///
/// Each connection has its own reader and only its event loop touches it (hiredis readers are not thread-safe).
/// The reader copies what it is fed, so every readable byte is handed over at once and the NIO buffer is drained.
final class RESPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    /// The most reader buffer kept between replies, per connection.
    static let retainedBufferLimit = 1024 * 1024

    private let reader: UnsafeMutablePointer<redisReader>
    private let allocator = ByteBufferAllocator()

    init() {
        guard let reader = redisReaderCreate() else { fatalError("redisReaderCreate ran out of memory") }
        // hiredis frees its buffer whenever it is drained and has grown past `maxbuf` (16 KiB): a relay batch's
        // reply is larger, so every reply paid a large free and regrowth, and glibc a consolidation of its
        // free lists. Up to `retainedBufferLimit` is kept for the connection's life instead.
        reader.pointee.maxbuf = Self.retainedBufferLimit
        self.reader = reader
    }

    deinit {
        redisReaderFree(reader)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let fed = buffer.withUnsafeReadableBytes { bytes in
            redisReaderFeed(reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard fed == REDIS_OK else { throw readerError() }
        buffer.moveReaderIndex(to: buffer.writerIndex)
        while let value = try nextReply() {
            context.fireChannelRead(wrapInboundOut(value))
        }
        return .needMoreData
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    private func nextReply() throws -> RESPValue? {
        var reply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &reply) == REDIS_OK else { throw readerError() }
        guard let reply else { return nil }
        defer { freeReplyObject(reply) }
        return value(of: reply.assumingMemoryBound(to: redisReply.self))
    }

    private func value(of reply: UnsafePointer<redisReply>) -> RESPValue {
        guard reply.pointee.type == REDIS_REPLY_ARRAY else {
            return Self.value(of: reply, strings: nil, offset: nil)
        }
        // All strings of an array reply go into one buffer and each element is a slice of it: one allocation per
        // reply instead of one per string (a relay batch's reply holds thousands). The buffer is filled first and
        // sliced after, so no slice makes a later write copy it.
        var strings = allocator.buffer(capacity: Self.stringBytes(in: reply))
        Self.write(stringsOf: reply, into: &strings)
        var offset = strings.readerIndex
        return withUnsafeMutablePointer(to: &offset) { Self.value(of: reply, strings: strings, offset: $0) }
    }

    private static func stringBytes(in reply: UnsafePointer<redisReply>) -> Int {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STRING: return reply.len
        case REDIS_REPLY_ARRAY: return (0..<reply.elements).reduce(0) { $0 + stringBytes(in: reply.element[$1]!) }
        default: return 0
        }
    }

    private static func write(stringsOf reply: UnsafePointer<redisReply>, into buffer: inout ByteBuffer) {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            buffer.writeBytes(UnsafeRawBufferPointer(start: reply.str, count: reply.len))
        case REDIS_REPLY_ARRAY:
            for index in 0..<reply.elements { write(stringsOf: reply.element[index]!, into: &buffer) }
        default:
            break
        }
    }

    /// The value of `reply`; its bulk strings are slices of `strings` from `offset` on when given (in the order
    /// `write(stringsOf:into:)` wrote them), else copies of their own.
    private static func value(of reply: UnsafePointer<redisReply>, strings: ByteBuffer?, offset: UnsafeMutablePointer<Int>?) -> RESPValue {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(reply.integer))
        case REDIS_REPLY_STRING:
            if let strings, let offset, let slice = strings.getSlice(at: offset.pointee, length: reply.len) {
                offset.pointee += reply.len
                return .bulkString(slice)
            }
            var buffer = ByteBuffer()
            buffer.writeBytes(UnsafeRawBufferPointer(start: reply.str, count: reply.len))
            return .bulkString(buffer)
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                elements.append(value(of: reply.element[index]!, strings: strings, offset: offset))
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private func readerError() -> RedisError {
        let message = withUnsafeBytes(of: reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return RedisError(kind: .protocolError, message: "invalid reply from Redis: \(message)")
    }
}
