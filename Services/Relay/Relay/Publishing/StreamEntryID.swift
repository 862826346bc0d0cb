/// A Redis stream entry id (`milliseconds-sequence`), ordered as Redis orders them.
struct StreamEntryID: Sendable, Hashable, Comparable, CustomStringConvertible {
    var milliseconds: UInt64
    var sequence: UInt64

    init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Parses `ms-seq`; nil for anything else.
    init?(_ text: some StringProtocol) {
        guard let dash = text.firstIndex(of: "-"), let milliseconds = UInt64(text[..<dash]),
            let sequence = UInt64(text[text.index(after: dash)...])
        else { return nil }
        self.init(milliseconds: milliseconds, sequence: sequence)
    }

    /// The smallest id above this one, so `XTRIM MINID` with it removes this entry too; nil for the largest id.
    var next: StreamEntryID? {
        if sequence < UInt64.max { return StreamEntryID(milliseconds: milliseconds, sequence: sequence + 1) }
        if milliseconds < UInt64.max { return StreamEntryID(milliseconds: milliseconds + 1, sequence: 0) }
        return nil
    }

    var description: String { "\(milliseconds)-\(sequence)" }

    static func < (lhs: StreamEntryID, rhs: StreamEntryID) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }
}
