import NIOCore

/// Parses RESP2 replies from the bytes Redis sends.
///
/// `RESPReplyScanner` finds where each reply ends, keeping its place across reads; a complete reply is then
/// parsed in one pass. All bulk strings of a reply are copied into one buffer of their own and each is a slice
/// of it: one allocation per reply (a relay batch's reply holds thousands of strings), and a string kept
/// afterwards holds on to its reply's bytes only, never to the connection's read buffer.
final class RESPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private var scanner = RESPReplyScanner()
    private let allocator = ByteBufferAllocator()

    init() {}

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let reply = try nextReply(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// The next whole reply at the front of `buffer`, which it then leaves; nil until one has fully come.
    func nextReply(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        let progress = try buffer.withUnsafeReadableBytes { bytes throws(RedisError) in try scanner.scan(bytes) }
        guard case .complete(let length) = progress else { return nil }
        var strings = allocator.buffer(capacity: scanner.bulkBytes)
        scanner = RESPReplyScanner()
        let reply = buffer.withUnsafeReadableBytes { bytes in
            let reply = UnsafeRawBufferPointer(rebasing: bytes[..<length])
            // The strings are all written before any is sliced: a slice taken earlier would make each later
            // write copy the buffer.
            var position = 0
            Self.copyStrings(in: reply, at: &position, into: &strings)
            position = 0
            var offset = strings.readerIndex
            return Self.value(in: reply, at: &position, strings: strings, offset: &offset)
        }
        buffer.moveReaderIndex(forwardBy: length)
        return reply
    }

    /// Appends the bytes of every bulk string of the value at `position` to `strings`, in order; moves `position` past it.
    private static func copyStrings(in bytes: UnsafeRawBufferPointer, at position: inout Int, into strings: inout ByteBuffer) {
        let lineEnd = RESPReplyScanner.lineEnd(in: bytes, from: position + 1)!
        let line = UnsafeRawBufferPointer(rebasing: bytes[(position + 1)..<lineEnd])
        let type = bytes[position]
        position = lineEnd + 2
        switch type {
        case UInt8(ascii: "$"):
            let length = RESPReplyScanner.integer(line)!
            guard length >= 0 else { return }
            strings.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]))
            position += length + 2
        case UInt8(ascii: "*"):
            for _ in 0..<max(0, RESPReplyScanner.integer(line)!) {
                copyStrings(in: bytes, at: &position, into: &strings)
            }
        default:
            break
        }
    }

    /// The value at `position` of a reply the scanner found whole and well formed; moves `position` past it.
    /// Its bulk strings are the slices of `strings` from `offset` on, in order.
    private static func value(in bytes: UnsafeRawBufferPointer, at position: inout Int, strings: ByteBuffer, offset: inout Int) -> RESPValue {
        let lineEnd = RESPReplyScanner.lineEnd(in: bytes, from: position + 1)!
        let line = UnsafeRawBufferPointer(rebasing: bytes[(position + 1)..<lineEnd])
        let type = bytes[position]
        position = lineEnd + 2
        switch type {
        case UInt8(ascii: "+"):
            return .simpleString(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: "-"):
            return .error(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: ":"):
            return .integer(RESPReplyScanner.integer(line)!)
        case UInt8(ascii: "$"):
            let length = RESPReplyScanner.integer(line)!
            guard length >= 0 else { return .null }
            position += length + 2
            defer { offset += length }
            return .bulkString(strings.getSlice(at: offset, length: length)!)
        default:
            let count = RESPReplyScanner.integer(line)!
            guard count >= 0 else { return .null }
            var elements: [RESPValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count {
                elements.append(value(in: bytes, at: &position, strings: strings, offset: &offset))
            }
            return .array(elements)
        }
    }
}
