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
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(reply.integer))
        case REDIS_REPLY_STRING:
            var buffer = allocator.buffer(capacity: reply.len)
            buffer.writeBytes(UnsafeRawBufferPointer(start: reply.str, count: reply.len))
            return .bulkString(buffer)
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                elements.append(value(of: reply.element[index]!))
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
