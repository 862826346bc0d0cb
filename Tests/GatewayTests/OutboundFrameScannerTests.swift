import NIOCore
import Testing

@testable import Gateway

@Suite("Outbound frame scanner")
struct OutboundFrameScannerTests {
    /// An unmasked server frame: header, then payload.
    private func frame(opcode: UInt8, length: Int) -> [UInt8] {
        var bytes: [UInt8] = [0x80 | opcode]
        if length < 126 {
            bytes.append(UInt8(length))
        } else if length <= 0xFFFF {
            bytes += [126, UInt8(length >> 8), UInt8(length & 0xFF)]
        } else {
            bytes.append(127)
            bytes += (0..<8).reversed().map { UInt8((length >> ($0 * 8)) & 0xFF) }
        }
        return bytes + [UInt8](repeating: 0x61, count: length)
    }

    @Test("frame boundaries are found whatever the lengths and however the bytes are split into writes")
    func boundaries() {
        let stream =
            frame(opcode: 0x1, length: 5) + frame(opcode: 0x1, length: 300) + frame(opcode: 0x2, length: 70_000) + frame(opcode: 0xA, length: 0)
        let ends: Set<Int> = [7, 7 + 304, 7 + 304 + 70_010, stream.count]
        for chunk in [1, 2, 3, 7, 1000, stream.count] {
            var scanner = OutboundFrameScanner()
            var offset = 0
            while offset < stream.count {
                let end = min(offset + chunk, stream.count)
                scanner.consume(ByteBuffer(bytes: stream[offset..<end]))
                offset = end
                #expect(scanner.isAtFrameBoundary == ends.contains(offset), "chunk \(chunk), offset \(offset)")
            }
            #expect(!scanner.sawClose)
        }
    }

    @Test("a close frame is seen as soon as its header is, even split from its payload")
    func close() {
        var scanner = OutboundFrameScanner()
        scanner.consume(ByteBuffer(bytes: frame(opcode: 0x1, length: 3)))
        #expect(!scanner.sawClose)
        let close = frame(opcode: 0x8, length: 2)
        scanner.consume(ByteBuffer(bytes: close.prefix(2)))
        #expect(scanner.sawClose)
        #expect(!scanner.isAtFrameBoundary)
        scanner.consume(ByteBuffer(bytes: close.dropFirst(2)))
        #expect(scanner.isAtFrameBoundary)
    }

    @Test("empty writes change nothing")
    func emptyWrites() {
        var scanner = OutboundFrameScanner()
        scanner.consume(ByteBuffer())
        #expect(scanner.isAtFrameBoundary)
        let text = frame(opcode: 0x1, length: 4)
        scanner.consume(ByteBuffer(bytes: text.prefix(3)))
        scanner.consume(ByteBuffer())
        #expect(!scanner.isAtFrameBoundary)
        scanner.consume(ByteBuffer(bytes: text.dropFirst(3)))
        #expect(scanner.isAtFrameBoundary)
    }
}
