/// Polls `condition` for state that has no event to wait on (a server-side counter, a gauge, a process's state),
/// every `interval`, until it holds; throws after `timeout`. The timeout is a hang guard, not a timing assertion.
public func waitUntil(
    _ what: String,
    timeout: Duration = .seconds(20),
    interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestSupportError("gave up waiting until \(what) after \(timeout)") }
        try await Task.sleep(for: interval)
    }
}

/// Runs `body`, failing with `what` if it has not finished within `seconds`: the bound of a wait that should end
/// long before it, so a hang fails the one test instead of the whole suite's time limit.
///
/// The body runs in a task of its own and is only cancelled at the deadline, not awaited: a body stuck where
/// cancellation cannot reach still lets the test fail with its message.
public func within<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = FirstOutcome<T>()
    let work = Task {
        do { await outcome.finish(.success(try await body())) } catch { await outcome.finish(.failure(error)) }
    }
    let timer = Task {
        try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        await outcome.finish(.failure(TestSupportError("timed out after \(seconds) s waiting for \(what)")))
    }
    let result = await outcome.value
    work.cancel()
    timer.cancel()
    return try result.get()
}

/// The first result `finish` is given; later ones are ignored.
private actor FirstOutcome<T: Sendable> {
    private var result: Result<T, any Error>?
    private var waiters: [CheckedContinuation<Result<T, any Error>, Never>] = []

    func finish(_ result: Result<T, any Error>) {
        guard self.result == nil else { return }
        self.result = result
        for waiter in waiters { waiter.resume(returning: result) }
        waiters.removeAll()
    }

    var value: Result<T, any Error> {
        get async {
            if let result { return result }
            return await withCheckedContinuation { waiters.append($0) }
        }
    }
}
