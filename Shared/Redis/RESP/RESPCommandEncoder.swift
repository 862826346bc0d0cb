import CHiredis
import NIOCore

/// Formats commands with hiredis's `redisFormatCommandArgv`.
///
/// The scratch arrays are reused from command to command so a steady stream of commands does not allocate here;
/// they are dropped after an unusually large command so one big value does not pin memory for the connection's life.
struct RESPCommandEncoder {
    private static let retainedScratchLimit = 64 * 1024

    private var scratch: [UInt8] = []
    private var lengths: [Int] = []
    private var pointers: [UnsafePointer<CChar>?] = []

    mutating func encode(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        // Moved into locals so the C call can borrow them all at once without overlapping accesses to `self`.
        var scratch = Self.take(&self.scratch)
        var lengths = Self.take(&self.lengths)
        var pointers = Self.take(&self.pointers)
        for argument in arguments {
            let start = scratch.count
            argument.append(to: &scratch)
            lengths.append(scratch.count - start)
        }
        // A trailing byte gives the scratch a base address even when every argument is empty.
        scratch.append(0)

        scratch.withUnsafeBytes { storage in
            let base = storage.baseAddress!.assumingMemoryBound(to: CChar.self)
            var offset = 0
            for length in lengths {
                pointers.append(base + offset)
                offset += length
            }
            var command: UnsafeMutablePointer<CChar>?
            let count = redisFormatCommandArgv(&command, Int32(arguments.count), &pointers, lengths)
            guard count >= 0, let command else { fatalError("redisFormatCommandArgv ran out of memory") }
            defer { redisFreeCommand(command) }
            buffer.writeBytes(UnsafeRawBufferPointer(start: command, count: Int(count)))
        }

        scratch.removeAll(keepingCapacity: scratch.capacity <= Self.retainedScratchLimit)
        lengths.removeAll(keepingCapacity: true)
        pointers.removeAll(keepingCapacity: true)
        self.scratch = scratch
        self.lengths = lengths
        self.pointers = pointers
    }

    private static func take<Element>(_ array: inout [Element]) -> [Element] {
        var taken: [Element] = []
        swap(&taken, &array)
        return taken
    }
}
