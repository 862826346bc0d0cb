import Foundation
import HeraldProtocol
import NIOCore

/// One event frame of a thread exactly as the relay published it, with its place in the log read once.
struct ThreadFrame: Sendable {
    let seq: Int
    let epoch: String
    /// When the worker emitted the event, for the latency metric.
    let emittedAt: Date?
    /// The frame's text, forwarded unchanged to every watcher.
    let text: ByteBuffer

    private struct Header: Decodable {
        let seq: Int
        let epoch: String
        let timestamp: String?
    }

    /// Nil when the text is not an event frame.
    init?(_ text: ByteBuffer) {
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(text.readableBytesView)) else { return nil }
        self.seq = header.seq
        self.epoch = header.epoch
        self.emittedAt = header.timestamp.flatMap(HeraldTimestamp.parse)
        self.text = text
    }

    var byteCount: Int { text.readableBytes }
}
