/// One server-sent event: its `event:` name (nil for the default, `message`) and its data lines joined by "\n".
public struct ServerSentEvent: Sendable, Equatable {
    public var type: String?
    public var data: String

    public init(type: String? = nil, data: String) {
        self.type = type
        self.data = data
    }
}

/// A line of the stream was longer than the parser allows; the stream is treated as malformed.
public struct ServerSentEventLineTooLong: Error, Sendable, Equatable, CustomStringConvertible {
    public var limit: Int
    public var description: String { "a line of the event stream is longer than \(limit) bytes" }
}

/// Cuts a `text/event-stream` body into events as its bytes arrive, in pieces split anywhere.
///
/// Follows the WHATWG rules: lines end with CRLF, LF or CR (a CR at the end of one piece and an LF
/// at the start of the next are one line end); a blank line ends an event; lines starting with `:`
/// are comments; `data:` lines accumulate, joined by "\n"; one space after the colon is dropped.
/// Bytes are kept until their line is complete, so a UTF-8 character split between pieces is whole.
public struct ServerSentEventParser: Sendable {
    /// The longest line accepted, in bytes; a longer one throws `ServerSentEventLineTooLong`.
    public let maximumLineBytes: Int

    private var line: [UInt8] = []
    private var afterCarriageReturn = false
    private var atStreamStart = true
    private var eventType: String?
    private var dataLines: [String] = []

    public init(maximumLineBytes: Int = 1 << 20) {
        self.maximumLineBytes = maximumLineBytes
    }

    /// Feeds the next piece of the body; returns the events it completed, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if afterCarriageReturn {
                afterCarriageReturn = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                if let event = endLine() { events.append(event) }
            case UInt8(ascii: "\r"):
                afterCarriageReturn = true
                if let event = endLine() { events.append(event) }
            default:
                guard line.count < maximumLineBytes else { throw ServerSentEventLineTooLong(limit: maximumLineBytes) }
                line.append(byte)
            }
        }
        return events
    }

    /// The body ended: an event still missing its blank line is delivered too, since a server that
    /// closes right after its last `data:` line meant it.
    public mutating func finish() -> [ServerSentEvent] {
        if !line.isEmpty { _ = endLine() }
        return endLine().map { [$0] } ?? []
    }

    private mutating func endLine() -> ServerSentEvent? {
        var bytes = line[...]
        line.removeAll(keepingCapacity: true)
        if atStreamStart {
            atStreamStart = false
            // A byte-order mark may open the stream.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        }
        if bytes.isEmpty {
            return dispatch()
        }
        if bytes.first == UInt8(ascii: ":") { return nil }
        let field: String
        let value: String
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            field = String(decoding: bytes[..<colon], as: UTF8.self)
            var rest = bytes[(colon + 1)...]
            if rest.first == UInt8(ascii: " ") { rest = rest.dropFirst() }
            value = String(decoding: rest, as: UTF8.self)
        } else {
            field = String(decoding: bytes, as: UTF8.self)
            value = ""
        }
        switch field {
        case "data":
            dataLines.append(value)
        case "event":
            eventType = value.isEmpty ? nil : value
        default:
            // `id`, `retry` and unknown fields mean nothing to a chat-completions client.
            break
        }
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            dataLines.removeAll()
            eventType = nil
        }
        guard !dataLines.isEmpty else { return nil }
        return ServerSentEvent(type: eventType, data: dataLines.joined(separator: "\n"))
    }
}
