import Synchronization

/// The outcome of whichever comes first: `work`, or `failure` (a deadline, a process's exit) throwing instead.
///
/// Unlike a task group, it does not wait for the loser: the SDK's requests do not end when their task is cancelled,
/// and a server that never answers must not hold the caller. The loser's task is cancelled and left to end by itself
/// (the caller also ends what it waits on: it cancels the request, or stops the process).
enum FirstOutcome {
    private final class Slot<T: Sendable>: Sendable {
        let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

        func resume(with result: Result<T, any Error>) {
            continuation.withLock { $0.take() }?.resume(with: result)
        }
    }

    static func of<T: Sendable>(
        _ work: @escaping @Sendable () async throws -> T,
        or failure: @escaping @Sendable () async -> (any Error)?
    ) async throws -> T {
        let slot = Slot<T>()
        var tasks: [Task<Void, Never>] = []
        defer { for task in tasks { task.cancel() } }
        // The caller's cancellation ends the wait too, at once.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                slot.continuation.withLock { $0 = continuation }
                if Task.isCancelled {
                    slot.resume(with: .failure(CancellationError()))
                    return
                }
                tasks.append(
                    Task {
                        do {
                            slot.resume(with: .success(try await work()))
                        } catch {
                            slot.resume(with: .failure(error))
                        }
                    }
                )
                tasks.append(
                    Task {
                        if let error = await failure() { slot.resume(with: .failure(error)) }
                    }
                )
            }
        } onCancel: {
            slot.resume(with: .failure(CancellationError()))
        }
    }
}
