import HeraldProtocol
import NIOCore

/// Turns one run's Herald event frames into a standard's server-sent events (AG-UI, the AI SDK's UI message stream).
///
/// One encoder serves one stream, in `seq` order; it keeps what the standard needs to open and close its messages.
protocol StreamEventEncoder: Sendable {
    /// Appends the stream's bytes for `frame` (nothing for events of other runs).
    mutating func encode(_ frame: EventFrame, into buffer: inout ByteBuffer)
    /// The run's end was encoded: nothing follows.
    var isFinished: Bool { get }
}

extension ByteBuffer {
    /// One server-sent event: `data: <json>` and the blank line that ends it.
    mutating func writeServerSentEvent(_ json: String) {
        writeStaticString("data: ")
        writeString(json)
        writeStaticString("\n\n")
    }
}

/// Where a stream stands after a batch.
enum StreamBatchEnd: Sendable, Equatable {
    /// More may follow.
    case open
    /// The run's last event was encoded: the stream ends with its trailer.
    case finished
    /// The connection closed the stream (shutdown, slow consumer): it ends without one.
    case closed
}

extension StreamEventEncoder {
    /// Appends the stream's bytes for one batch the connection handed over: its event frames, in order, as the
    /// standard's events. Replies meant for `/ws` (`run_queued`, `resumed`, …) are not part of these streams.
    mutating func encode(_ batch: [Connection.Outgoing], into bytes: inout ByteBuffer) -> StreamBatchEnd {
        for entry in batch {
            guard !isFinished else { return .finished }
            switch entry {
            case .text(let text, true, _):
                if let frame = try? EventFrame.decode(String(buffer: text)) {
                    encode(frame, into: &bytes)
                }
            case .text:
                continue
            case .close:
                return .closed
            }
        }
        return isFinished ? .finished : .open
    }
}
