import HeraldCore
import HeraldProtocol

/// What one batch appends to each of its threads' logs, worked out by the relay from what it knows of the logs:
/// each event's fate (numbered, a duplicate, or late for a run that ended), its frame, and each log afterwards.
///
/// Pure: the same batch and logs give the same plan, so a plan the script refused is simply made again from
/// the logs as Redis reported them.
struct PublishPlan: Sendable {
    /// One thread's part of the batch.
    struct ThreadAppend: Sendable {
        var threadID: String
        /// The log as the script must find it: its epoch (absent when `startsLog`) and seq.
        var expectedSeq: Int
        /// The thread has no log yet: the script creates it with `log.epoch`.
        var startsLog: Bool
        /// The log after this batch.
        var log: ThreadLog
        /// `{"seq":…,"epoch":…,` and the event's JSON after its opening brace, in order.
        var frames: [String]
        /// The runs of the numbered events, in order of appearance: whether this batch ends each, and whether
        /// the script checks that it had not ended (its marker) because this relay has not seen it live.
        var runs: [(id: String, ends: Bool, check: Bool)]
        /// The runs the script is told of: those it checks or ends.
        var listedRuns: [(id: String, ends: Bool, check: Bool)] { runs.filter { $0.ends || $0.check } }
        /// Whether the log's newest entry, or its recent event ids, changed.
        var entryChanged: Bool
        var recentChanged: Bool
        /// Whether the script renews the expiry of the log's keys.
        var renewsExpiry: Bool
        /// What this batch does to the thread's live run, whose events history keeps beyond its event cap.
        var liveRun: LiveRunChange
        /// The positions (from 1) in `frames` of the live run's events that open or close an agent or a tool call,
        /// which the script adds to the run's outline (what the watchdog reads to close the run).
        var outline: [Int]
        /// What the numbered events change in the thread's messages, in order.
        var messages: [MessageUpdate]
    }

    /// What a batch does to the thread's live run: the run whose supervisor started and has not ended. History
    /// keeps all of its events (up to a byte ceiling), however many, so a tab that resumes mid-answer catches up.
    enum LiveRunChange: Sendable, Equatable {
        /// No run started or ended: `bytes` more of frames, which count towards the live run if there is one.
        case continues(bytes: Int)
        /// A run started at `seq`; its frames in this batch take `bytes`.
        case starts(seq: Int, bytes: Int)
        /// The live run ended (its terminal event is in this batch); the event cap applies again.
        case ends
    }

    var appends: [ThreadAppend] = []
    /// One per item planned, in the order given.
    var outcomes: [EventPublisher.Outcome]

    /// Plans `items` (those at `selection`, in that order, when given) against `logs`, which holds every thread
    /// of the batch.
    init(
        _ items: [EventPublisher.Item],
        selecting selection: [Int]? = nil,
        logs: [String: ThreadLog],
        dedupWindow: Int,
        now: ContinuousClock.Instant,
        expiryRenewal: Duration,
        newEpoch: () -> String
    ) {
        let selected = selection ?? Array(items.indices)
        outcomes = Array(repeating: .duplicate, count: selected.count)
        // Each thread's items, as (item index, outcome index) pairs in order.
        let groups = EventPublisher.threadGroups(selected.map { items[$0].event.threadID }).map { positions in
            positions.map { (item: selected[$0], outcome: $0) }
        }
        appends.reserveCapacity(groups.count)
        for group in groups {
            let threadID = items[group[0].item].event.threadID
            guard let known = logs[threadID] else { preconditionFailure("no log for thread \(threadID)") }
            appends.append(
                plan(
                    items,
                    group,
                    threadID: threadID,
                    known: known,
                    dedupWindow: dedupWindow,
                    now: now,
                    expiryRenewal: expiryRenewal,
                    newEpoch: newEpoch
                )
            )
        }
    }

    private mutating func plan(
        _ items: [EventPublisher.Item],
        _ group: [(item: Int, outcome: Int)],
        threadID: String,
        known: ThreadLog,
        dedupWindow: Int,
        now: ContinuousClock.Instant,
        expiryRenewal: Duration,
        newEpoch: () -> String
    ) -> ThreadAppend {
        var log = known
        let startsLog = known.epoch == nil
        if startsLog {
            // A new (or expired) log starts a new epoch, counting from 1, with nothing to de-duplicate against.
            log = ThreadLog(epoch: newEpoch(), seq: 0, lastEntry: nil, recentEventIDs: [], endedRuns: known.endedRuns)
        }
        let epoch = log.epoch!
        let expectedSeq = log.seq
        var frames: [String] = []
        frames.reserveCapacity(group.count)
        var runs: [(id: String, ends: Bool, check: Bool)] = []
        var liveRun = LiveRunChange.continues(bytes: 0)
        var outline: [Int] = []
        var messages: [MessageUpdate] = []
        // Consecutive events mostly share a run: whether it had ended is worked out once per run.
        var checkedRun: (id: String, ended: Bool)?
        // Entries come in id order: only a leading run of them can have been published already.
        var replaying = log.lastEntry != nil
        for (itemIndex, index) in group {
            // Fields are read in place: copying an item retains each of its strings.
            if replaying, let last = log.lastEntry {
                replaying = StreamEntryID(items[itemIndex].entryID).map { $0 <= last } ?? false
            }
            let eventID = items[itemIndex].event.eventID
            let runID = items[itemIndex].event.runID
            if replaying || log.recent.contains(eventID) {
                outcomes[index] = .duplicate
                continue
            }
            if checkedRun?.id != runID {
                checkedRun = (runID, log.endedRuns.contains(runID))
            }
            if checkedRun?.ended == true {
                outcomes[index] = .afterRunEnded
                continue
            }
            log.seq += 1
            let frame = Self.frame(seq: log.seq, epoch: epoch, json: items[itemIndex].event.json)
            frames.append(frame)
            liveRun.note(items[itemIndex].event, seq: log.seq, bytes: frame.utf8.count)
            switch liveRun {
            case .starts(let start, _) where start == log.seq: outline = [frames.count]
            case .ends: outline = []
            default: if items[itemIndex].event.type.opensOrCloses { outline.append(frames.count) }
            }
            log.recent.append(eventID)
            if log.recent.count > 2 * dedupWindow {
                log.recent.keepLatest(dedupWindow)
            }
            let terminal = items[itemIndex].event.isRunTerminal
            if runs.last?.id == runID {
                runs[runs.count - 1].ends = runs[runs.count - 1].ends || terminal
            } else if let run = runs.lastIndex(where: { $0.id == runID }) {
                runs[run].ends = runs[run].ends || terminal
            } else {
                runs.append((runID, terminal, !known.liveRuns.contains(runID) || startsLog))
                if !terminal { log.noteLive(runID) }
            }
            if terminal {
                log.noteEnded(runID)
                checkedRun = (runID, true)
            }
            outcomes[index] = .published(seq: log.seq)
            for update in MessageUpdate.updates(for: items[itemIndex].event) { messages.add(update) }
        }
        log.recent.keepLatest(dedupWindow)
        // Unless every entry was one already done, the batch's last entry is the thread's newest.
        var entryChanged = false
        if !replaying, let last = group.last.flatMap({ StreamEntryID(items[$0.item].entryID) }) {
            log.lastEntry = last
            entryChanged = true
        }
        let renewsExpiry = startsLog || known.expiryRenewedAt.map { now - $0 >= expiryRenewal } ?? true
        if renewsExpiry { log.expiryRenewedAt = now }
        return ThreadAppend(
            threadID: threadID,
            expectedSeq: expectedSeq,
            startsLog: startsLog,
            log: log,
            frames: frames,
            runs: runs,
            entryChanged: entryChanged,
            recentChanged: !frames.isEmpty,
            renewsExpiry: renewsExpiry,
            liveRun: liveRun,
            outline: outline,
            messages: messages
        )
    }

    /// The frame clients receive: the event's JSON with `seq` and `epoch` first.
    static func frame(seq: Int, epoch: String, json: String) -> String {
        var json = json
        var epoch = epoch
        return json.withUTF8 { body in
            epoch.withUTF8 { epoch in
                // `{"seq":` + digits + `,"epoch":"` + epoch + `",` + the JSON after its `{`.
                let capacity = 7 + 20 + 11 + epoch.count + 2 + max(0, body.count - 1)
                return String(unsafeUninitializedCapacity: capacity) { buffer in
                    var end = 0
                    func write(_ bytes: UnsafeBufferPointer<UInt8>) {
                        UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[end...])).copyMemory(
                            from: UnsafeRawBufferPointer(bytes)
                        )
                        end += bytes.count
                    }
                    func write(_ text: StaticString) {
                        write(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
                    }
                    write("{\"seq\":")
                    var digits = seq
                    let start = end
                    repeat {
                        buffer[end] = UInt8(ascii: "0") + UInt8(digits % 10)
                        end += 1
                        digits /= 10
                    } while digits > 0
                    buffer[start..<end].reverse()
                    write(",\"epoch\":\"")
                    write(epoch)
                    write("\",")
                    if body.count > 1 { write(UnsafeBufferPointer(rebasing: body[1...])) }
                    return end
                }
            }
        }
    }
}

extension PublishPlan.LiveRunChange {
    /// Takes in the next numbered event of the thread.
    mutating func note(_ event: PartitionEntry, seq: Int, bytes: Int) {
        if event.isRunTerminal {
            self = .ends
            return
        }
        switch self {
        case _ where event.agentName == AgentName.supervisor && event.type == .agentStarted:
            self = .starts(seq: seq, bytes: bytes)
        case .continues(let total):
            self = .continues(bytes: total + bytes)
        case .starts(let start, let total):
            self = .starts(seq: start, bytes: total + bytes)
        case .ends:
            // Late events after the end are dropped before they are numbered; anything else starts no run.
            break
        }
    }
}
