/// Where a page of a user's threads ends: the last thread's score (time of its latest run, ms) and id. The next
/// page starts after it in the list's order (score descending, then id descending), so threads that move to the top
/// meanwhile never make a page repeat or skip one that did not move.
struct ThreadListCursor: Sendable, Equatable {
    var score: Int64
    var threadID: String

    /// Reads a cursor this API wrote (`<score>.<thread id>`); nil for anything else.
    init?(_ text: String) {
        guard let dot = text.firstIndex(of: "."), let score = Int64(text[..<dot]), score >= 0 else { return nil }
        let thread = String(text[text.index(after: dot)...])
        guard ConnectionSession.isValidID(thread) else { return nil }
        self.init(score: score, threadID: thread)
    }

    init(score: Int64, threadID: String) {
        self.score = score
        self.threadID = threadID
    }

    var text: String { "\(score).\(threadID)" }

    /// Whether `entry` comes after this cursor in the list's order.
    func precedes(_ entry: ThreadListCursor) -> Bool {
        entry.score < score || (entry.score == score && entry.threadID < threadID)
    }
}

/// A message's place in its thread: the run's index among the thread's runs, and which of its messages (the user's
/// comes before the assistant's). A messages page is the messages before a position, so the text of a cursor is
/// `<run index>.<0 or 1>`.
struct MessagePosition: Sendable, Equatable, Comparable {
    enum Part: Int, Sendable {
        case user = 0
        case assistant = 1
    }
    var run: Int
    var part: Part

    init(run: Int, part: Part) {
        self.run = run
        self.part = part
    }

    /// Reads a cursor this API wrote; nil for anything else.
    init?(_ text: String) {
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count == 2, let run = Int(pieces[0]), run >= 0, let raw = Int(pieces[1]), let part = Part(rawValue: raw) else { return nil }
        self.init(run: run, part: part)
    }

    var text: String { "\(run).\(part.rawValue)" }

    static func < (lhs: MessagePosition, rhs: MessagePosition) -> Bool {
        (lhs.run, lhs.part.rawValue) < (rhs.run, rhs.part.rawValue)
    }
}
