import NIOCore

/// Follows the server's outgoing WebSocket byte stream frame by frame (headers read, payloads skipped), so
/// a frame written below the WebSocket encoder lands between frames, never inside one, and never after a close.
struct OutboundFrameScanner: Sendable {
    /// Bytes of the current frame's header seen so far; 0 between headers.
    private var headerBytesSeen = 0
    /// Length of the current header, known once its second byte is seen.
    private var headerLength = 2
    /// Bytes of the extended payload length field the current header carries (0, 2 or 8).
    private var extendedLengthBytes = 0
    private var payloadLength: UInt64 = 0
    private var payloadRemaining: UInt64 = 0
    /// Set once a close frame started: RFC 6455 lets nothing follow it.
    private(set) var sawClose = false

    /// True when the bytes seen so far end exactly at the end of a frame.
    var isAtFrameBoundary: Bool { headerBytesSeen == 0 && payloadRemaining == 0 }

    /// Accounts for bytes about to be written to the socket.
    mutating func consume(_ buffer: ByteBuffer) {
        var index = buffer.readerIndex
        let end = buffer.writerIndex
        while index < end {
            if headerBytesSeen == 0, payloadRemaining > 0 {
                let skipped = min(UInt64(end - index), payloadRemaining)
                payloadRemaining -= skipped
                index += Int(skipped)
                continue
            }
            let byte = buffer.getInteger(at: index, as: UInt8.self) ?? 0
            index += 1
            readHeaderByte(byte)
        }
    }

    private mutating func readHeaderByte(_ byte: UInt8) {
        switch headerBytesSeen {
        case 0:
            if byte & 0x0F == 0x8 { sawClose = true }
            headerLength = 2
        case 1:
            let length = byte & 0x7F
            extendedLengthBytes = length == 126 ? 2 : length == 127 ? 8 : 0
            payloadLength = extendedLengthBytes == 0 ? UInt64(length) : 0
            let maskBytes = byte & 0x80 != 0 ? 4 : 0
            headerLength = 2 + extendedLengthBytes + maskBytes
        default:
            if headerBytesSeen < 2 + extendedLengthBytes {
                payloadLength = payloadLength << 8 | UInt64(byte)
            }
        }
        headerBytesSeen += 1
        if headerBytesSeen == headerLength {
            headerBytesSeen = 0
            payloadRemaining = payloadLength
        }
    }
}
