/// Finds where a RESP2 reply ends as its bytes arrive, so it is parsed once, whole, however the reads cut it.
///
/// It walks the reply's headers only (a bulk string's bytes are skipped by their length) and keeps its place
/// between reads: the arrays still open and how many elements each still needs. Re-reading a reply from its
/// start on every read would cost, for a reply of many reads, its headers once per read.
///
/// Positions are offsets from the reply's first byte, so the caller may move or compact its buffer between
/// reads as long as the reply's first byte stays its first readable byte.
struct RESPReplyScanner: Sendable {
    /// The deepest nesting of arrays read (Redis's own replies nest at most four deep, XREAD's).
    static let deepestNesting = 8
    /// The most elements an array may announce.
    static let mostElements = Int(Int32.max)

    /// Where the next header starts.
    private var position = 0
    /// For each open array, the elements it still needs.
    private var open: [Int] = []
    /// The bytes of every bulk string seen so far.
    private(set) var bulkBytes = 0

    /// What a scan found.
    enum Progress: Equatable {
        /// The reply is not complete yet: scan again when more bytes have come.
        case needMoreData
        /// The reply is `length` bytes long.
        case complete(length: Int)
    }

    /// Scans on through `bytes`, which start with the reply's first byte.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) throws(RedisError) -> Progress {
        while true {
            guard position < bytes.count else { return .needMoreData }
            guard let lineEnd = Self.lineEnd(in: bytes, from: position + 1) else { return .needMoreData }
            let line = UnsafeRawBufferPointer(rebasing: bytes[(position + 1)..<lineEnd])
            let next = lineEnd + 2
            switch bytes[position] {
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                position = next
            case UInt8(ascii: ":"):
                guard Self.integer(line) != nil else { throw Self.error("invalid integer \(Self.show(line))") }
                position = next
            case UInt8(ascii: "$"):
                let length = try Self.length(line, of: "bulk string", most: Int.max - 2)
                if length >= 0 {
                    // The bytes, then CR LF.
                    guard bytes.count - next >= length + 2 else { return .needMoreData }
                    guard bytes[next + length] == UInt8(ascii: "\r"), bytes[next + length + 1] == UInt8(ascii: "\n") else {
                        throw Self.error("bulk string of \(length) bytes not followed by CR LF")
                    }
                    bulkBytes += length
                    position = next + length + 2
                } else {
                    position = next
                }
            case UInt8(ascii: "*"):
                let count = try Self.length(line, of: "array", most: Self.mostElements)
                position = next
                if count > 0 {
                    guard open.count < Self.deepestNesting else {
                        throw Self.error("arrays nested deeper than \(Self.deepestNesting)")
                    }
                    open.append(count)
                    continue
                }
            default:
                throw Self.error("unknown type byte \(Self.show(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + 1)])))")
            }
            // An element is complete: it may complete the arrays around it.
            while let last = open.last {
                if last > 1 {
                    open[open.count - 1] = last - 1
                    break
                }
                open.removeLast()
            }
            if open.isEmpty { return .complete(length: position) }
        }
    }

    /// The offset of the CR of the first CR LF at or after `start`.
    static func lineEnd(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "\r") {
                if bytes[index + 1] == UInt8(ascii: "\n") { return index }
            }
            index += 1
        }
        return nil
    }

    /// A decimal integer as Redis writes one: an optional minus, digits without a leading zero (but "0"), in Int64.
    static func integer(_ line: UnsafeRawBufferPointer) -> Int? {
        var digits = line[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard let first = digits.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return nil }
        if first == UInt8(ascii: "0") { return digits.count == 1 && !negative ? 0 : nil }
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            // Accumulated negatively, so Int64.min fits.
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.subtractingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            value = next
        }
        if negative { return value }
        return value == Int.min ? nil : -value
    }

    /// A length header: -1 (null) or 0...`most`.
    static func length(_ line: UnsafeRawBufferPointer, of kind: String, most: Int) throws(RedisError) -> Int {
        guard let value = integer(line) else { throw error("invalid \(kind) length \(show(line))") }
        guard value >= -1, value <= most else { throw error("\(kind) length out of range: \(value)") }
        return value
    }

    static func error(_ message: String) -> RedisError {
        RedisError(kind: .protocolError, message: "invalid reply from Redis: \(message)")
    }

    static func show(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes.prefix(40), as: UTF8.self).debugDescription
    }
}
