import NIOCore

/// The format of a message on a thread's pub/sub channel: the event frames the relay published together,
/// in `seq` order, joined by newlines (JSON text never holds a raw one). The relay's publish script writes
/// it; gateways, tests and benchmarks read it with `frames(in:)`.
public enum ThreadChannelMessage {
    /// What separates two frames in a message.
    public static let separator = UInt8(ascii: "\n")

    /// The frames of one message, each a slice of it (no copy); empty lines are skipped.
    public static func frames(in message: ByteBuffer) -> [ByteBuffer] {
        var frames: [ByteBuffer] = []
        var rest = message
        while let end = rest.readableBytesView.firstIndex(of: separator) {
            let length = end - rest.readerIndex
            if length > 0, let frame = rest.readSlice(length: length) {
                frames.append(frame)
            }
            rest.moveReaderIndex(forwardBy: 1)
        }
        if rest.readableBytes > 0 { frames.append(rest) }
        return frames
    }
}
