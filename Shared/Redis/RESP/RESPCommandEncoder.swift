import NIOCore

/// Writes commands as RESP arrays of bulk strings (`*N\r\n$len\r\n…\r\n`), straight into the outbound buffer.
///
/// Each argument's bytes are copied once, into the buffer; nothing is allocated per command beyond the
/// buffer's own growth. (hiredis's `redisFormatCommandArgv` allocated the whole command and formatted
/// every length with `sprintf`, which showed in the relay's profile.)
struct RESPCommandEncoder {
    func encode(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        Self.writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            switch argument.storage {
            case .string(var string):
                string.withUTF8 { Self.writeBulk(UnsafeRawBufferPointer($0), into: &buffer) }
            case .substring(var substring):
                substring.withUTF8 { Self.writeBulk(UnsafeRawBufferPointer($0), into: &buffer) }
            case .bytes(let bytes):
                bytes.withUnsafeBytes { Self.writeBulk($0, into: &buffer) }
            case .buffer(let value):
                value.withUnsafeReadableBytes { Self.writeBulk($0, into: &buffer) }
            case .integer(let integer):
                var text = String(integer)
                text.withUTF8 { Self.writeBulk(UnsafeRawBufferPointer($0), into: &buffer) }
            }
        }
    }

    private static func writeBulk(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "$"), bytes.count, into: &buffer)
        buffer.writeBytes(bytes)
        buffer.writeInteger(UInt16(0x0D0A))
    }

    /// `*count\r\n` or `$length\r\n`, the number in decimal without going through a String.
    private static func writeHeader(_ marker: UInt8, _ value: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(marker)
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var remaining = value
            var start = scratch.count
            repeat {
                start -= 1
                scratch[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[start...]))
        }
        buffer.writeInteger(UInt16(0x0D0A))
    }
}
