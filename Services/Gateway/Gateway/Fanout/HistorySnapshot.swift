/// A consistent view of a thread's log taken in one step: its epoch, last `seq` and the frames after a point.
struct HistorySnapshot: Sendable {
    /// The log's epoch; empty when the thread has no events yet (or its log expired).
    var epoch: String
    var lastSeq: Int
    /// The caller's position belonged to another epoch (or lay beyond the log), so `frames` start from the beginning.
    var reset: Bool
    /// The lowest `seq` history still holds.
    var oldestSeq: Int?
    var frames: [ThreadFrame]

    /// Whether the frames join up with `afterSeq`: history still held `afterSeq + 1` in the same epoch.
    func isRecovered(afterSeq: Int) -> Bool {
        if reset { return false }
        guard lastSeq > afterSeq else { return true }
        guard let oldestSeq else { return false }
        return oldestSeq <= afterSeq + 1
    }
}
