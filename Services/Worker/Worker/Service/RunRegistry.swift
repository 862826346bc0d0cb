/// The runs a worker holds: the concurrency slots, a handle to cancel each run, and the drain state.
actor RunRegistry {
    private struct Entry {
        var control: RunControl
        var task: Task<RunOutcome, Never>?
        var stopRequested: RunControl.StopReason?
    }

    let capacity: Int
    private var taken = 0
    private var entries: [String: Entry] = [:]
    private(set) var isDraining = false
    private var slotWaiters: [CheckedContinuation<Void, Never>] = []
    private var emptyWaiters: [CheckedContinuation<Void, Never>] = []

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Waits for at least one free slot; returns how many are free, or 0 once draining.
    func waitForFreeSlots() async -> Int {
        while !isDraining && taken >= capacity {
            await withCheckedContinuation { slotWaiters.append($0) }
        }
        return isDraining ? 0 : capacity - taken
    }

    /// Takes a slot for a run read off the queue.
    func take() {
        taken += 1
    }

    /// Gives a slot back once its run is over.
    func giveBack() {
        taken -= 1
        if let waiter = slotWaiters.first {
            slotWaiters.removeFirst()
            waiter.resume()
        }
        if taken == 0 {
            for waiter in emptyWaiters { waiter.resume() }
            emptyWaiters.removeAll()
        }
    }

    /// Runs held now, including those being prepared or finished but not yet acknowledged.
    var count: Int { taken }

    /// Returns once no slot is taken.
    func waitUntilEmpty() async {
        guard taken > 0 else { return }
        await withCheckedContinuation { emptyWaiters.append($0) }
    }

    /// Stops taking runs: slot waiters wake and see the drain.
    func beginDrain() {
        isDraining = true
        for waiter in slotWaiters { waiter.resume() }
        slotWaiters.removeAll()
    }

    // MARK: Cancelling

    /// Starts tracking a run; returns the control its engine reads the stop reason from.
    func register(_ runID: String) -> RunControl {
        let control = RunControl()
        entries[runID] = Entry(control: control)
        return control
    }

    /// The run's task is running: a stop requested before now takes effect at once.
    func attach(_ task: Task<RunOutcome, Never>, to runID: String) async {
        guard var entry = entries[runID] else { return }
        entry.task = task
        entries[runID] = entry
        if let reason = entry.stopRequested {
            await entry.control.stop(reason)
            task.cancel()
        }
    }

    func unregister(_ runID: String) {
        entries[runID] = nil
    }

    /// Whether a stop was requested for a run not yet started.
    func stopRequested(_ runID: String) -> Bool {
        entries[runID]?.stopRequested != nil
    }

    /// Cancels a run this worker holds; false when it holds no such run or it was already stopped.
    @discardableResult
    func cancel(_ runID: String, reason: RunControl.StopReason) async -> Bool {
        guard var entry = entries[runID], entry.stopRequested == nil else { return false }
        entry.stopRequested = reason
        entries[runID] = entry
        await entry.control.stop(reason)
        entry.task?.cancel()
        return true
    }

    /// Cancels every run held, e.g. when the grace period of a shutdown is over.
    func cancelAll(reason: RunControl.StopReason) async {
        for runID in entries.keys {
            await cancel(runID, reason: reason)
        }
    }

    var runIDs: [String] { Array(entries.keys) }
}
