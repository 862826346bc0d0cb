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
