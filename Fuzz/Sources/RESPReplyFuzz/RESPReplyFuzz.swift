// libFuzzer entry for the RESP reply path: the bytes Redis sends, through `RESPReplyDecoder`
// (hiredis' redisReader behind a NIO ByteToMessageDecoder) in a NIO pipeline. The decoder's sources
// are compiled into this module through symlinks, so the fuzzer exercises the real code.
//
// The first input byte picks how the rest is cut into reads (1 to 16 bytes at a time); the rest is
// what "Redis" sent. Beyond "no crash", every input checks:
// - cut into reads or fed at once, the same replies come out, and an error comes (or not) alike;
// - a failure is a `RedisError` of kind `protocolError`, never anything else;
// - every reply that came out, written back as RESP, decodes to the same reply.

import NIOCore
import NIOEmbedded

/// Stops the fuzzer with `message` when a property fails (`precondition` drops its message in optimized builds).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// What one decoder made of a byte stream.
struct Outcome: Equatable {
    var replies: [RESPValue] = []
    var failed = false
}

/// Feeds `bytes` to a fresh decoder in reads of `chunk` bytes and collects every reply until the first error.
func decode(_ bytes: [UInt8], chunk: Int) -> Outcome {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPReplyDecoder()))
    var outcome = Outcome()
    var offset = 0
    repeat {
        let end = min(bytes.count, offset + chunk)
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
        } catch let error as RedisError {
            check(error.kind == .protocolError, "reply error of kind \(error.kind): \(error)")
            outcome.failed = true
        } catch {
            fatalError("the decoder threw something other than a RedisError: \(error)")
        }
        while let reply = try? channel.readInbound(as: RESPValue.self) {
            outcome.replies.append(reply)
        }
        offset = end
    } while offset < bytes.count && !outcome.failed
    _ = try? channel.finish()
    return outcome
}

/// RESP2 text of a reply, as Redis would send it.
func encode(_ value: RESPValue, into bytes: inout [UInt8]) {
    switch value {
    case .simpleString(let text): bytes += Array("+\(text)\r\n".utf8)
    case .error(let text): bytes += Array("-\(text)\r\n".utf8)
    case .integer(let number): bytes += Array(":\(number)\r\n".utf8)
    case .null: bytes += Array("$-1\r\n".utf8)
    case .bulkString(let buffer):
        bytes += Array("$\(buffer.readableBytes)\r\n".utf8)
        bytes += buffer.readableBytesView
        bytes += [13, 10]
    case .array(let elements):
        bytes += Array("*\(elements.count)\r\n".utf8)
        for element in elements { encode(element, into: &bytes) }
    }
}

/// Whether `bytes` hold an array header announcing more than `limit` elements.
///
/// hiredis reserves a slot per announced element when the header arrives and walks every slot when it frees an
/// unfinished reply, so such a header costs time and address space in proportion to the count, not to the bytes
/// sent. Redis is trusted and sends the elements it announces (at least 4 bytes each), so the fuzzer leaves
/// these headers out instead of reporting hiredis' linear cost as a hang (Fuzz/README.md).
func announcesHugeArray(_ bytes: [UInt8], limit: Int = 1_000_000) -> Bool {
    var index = 0
    while index < bytes.count {
        defer { index += 1 }
        guard bytes[index] == UInt8(ascii: "*") else { continue }
        var count = 0
        var digit = index + 1
        while digit < bytes.count, (48...57).contains(bytes[digit]), count <= limit {
            count = count * 10 + Int(bytes[digit] - 48)
            digit += 1
        }
        if count > limit { return true }
    }
    return false
}

@_cdecl("LLVMFuzzerTestOneInput")
public func respReplyFuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let first = input.first else { return 0 }
    // -1: libFuzzer keeps the input out of the corpus.
    if announcesHugeArray(input) { return -1 }
    let stream = Array(input.dropFirst())
    let whole = decode(stream, chunk: max(stream.count, 1))
    let cut = decode(stream, chunk: Int(first % 16) + 1)
    check(whole == cut, "reads of \(first % 16 + 1) bytes gave \(cut), one read gave \(whole)")

    var written: [UInt8] = []
    for reply in whole.replies { encode(reply, into: &written) }
    let again = decode(written, chunk: max(written.count, 1))
    check(!again.failed && again.replies == whole.replies, "replies written back decode differently: \(again)")
    return 0
}
