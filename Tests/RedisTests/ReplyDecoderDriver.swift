import NIOCore
import NIOPosix

@testable import Redis

/// What `RESPReplyDecoder` made of a byte stream: the replies it produced, and the error that stopped it, if any.
struct ReplyDecoding: Equatable, Sendable {
    var replies: [RESPValue] = []
    var error: RedisError?
    /// An error that was not a `RedisError`, described (it should never happen).
    var otherError: String?
}

/// Runs the client's real reply decoder (`ByteToMessageHandler(RESPReplyDecoder())`) in a real NIO pipeline
/// and hands it exactly the reads a test chooses, so where replies are cut is up to the test, not to TCP.
///
/// Each batch gets an idle loopback UDP channel that nothing sends to, on the driver's own event loop (so the
/// decoding never delays other tests' sockets). Every stream of the batch gets a fresh decoder and collector
/// put at the front of the pipeline: the reads fired into it reach that decoder only, because a collector
/// passes nothing on.
final class ReplyDecoderDriver: Sendable {
    private let group: MultiThreadedEventLoopGroup

    private init(group: MultiThreadedEventLoopGroup) {
        self.group = group
    }

    static func withDriver<T>(_ body: (ReplyDecoderDriver) async throws -> T) async throws -> T {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let driver = ReplyDecoderDriver(group: group)
        do {
            let result = try await body(driver)
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Decodes the concatenation of `reads`, handing the decoder one read at a time, until the first error.
    func decode(_ reads: [[UInt8]]) async throws -> ReplyDecoding {
        try await decode(batch: [reads])[0]
    }

    /// Decodes several streams, each with its own fresh decoder.
    func decode(batch: [[[UInt8]]]) async throws -> [ReplyDecoding] {
        var outcomes: [ReplyDecoding] = []
        outcomes.reserveCapacity(batch.count)
        // A channel per hundred streams: adding a handler walks the pipeline, so pipelines are kept short.
        for start in stride(from: 0, to: batch.count, by: 100) {
            outcomes += try await decode(onOneChannel: Array(batch[start..<min(batch.count, start + 100)]))
        }
        return outcomes
    }

    private func decode(onOneChannel batch: [[[UInt8]]]) async throws -> [ReplyDecoding] {
        let channel = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let outcomes = try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            var outcomes: [ReplyDecoding] = []
            outcomes.reserveCapacity(batch.count)
            for reads in batch {
                let collector = ReplyCollector()
                try pipeline.addHandler(collector, position: .first)
                try pipeline.addHandler(ByteToMessageHandler(RESPReplyDecoder()), position: .first)
                for read in reads {
                    pipeline.fireChannelRead(NIOAny(ByteBuffer(bytes: read)))
                    if collector.outcome.error != nil || collector.outcome.otherError != nil { break }
                }
                outcomes.append(collector.outcome)
            }
            return outcomes
        }.get()
        try await channel.close()
        return outcomes
    }
}

/// Follows a decoder in the driver's pipeline: records its replies and its first error, and passes nothing on.
private final class ReplyCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = RESPValue

    var outcome = ReplyDecoding()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        outcome.replies.append(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard outcome.error == nil, outcome.otherError == nil else { return }
        if let error = error as? RedisError {
            outcome.error = error
        } else {
            outcome.otherError = "\(error)"
        }
    }
}

extension RESPValue {
    /// This reply as Redis writes it on the wire (RESP2). A null is `$-1`, or `*-1` when `nullArray` is set.
    func encoded(nullArray: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes, nullArray: nullArray)
        return bytes
    }

    private func encode(into bytes: inout [UInt8], nullArray: Bool) {
        switch self {
        case .simpleString(let text): bytes += Array("+\(text)\r\n".utf8)
        case .error(let text): bytes += Array("-\(text)\r\n".utf8)
        case .integer(let number): bytes += Array(":\(number)\r\n".utf8)
        case .null: bytes += Array((nullArray ? "*-1\r\n" : "$-1\r\n").utf8)
        case .bulkString(let buffer):
            bytes += Array("$\(buffer.readableBytes)\r\n".utf8)
            bytes += buffer.readableBytesView
            bytes += [13, 10]
        case .array(let elements):
            bytes += Array("*\(elements.count)\r\n".utf8)
            for element in elements { element.encode(into: &bytes, nullArray: nullArray) }
        }
    }
}
