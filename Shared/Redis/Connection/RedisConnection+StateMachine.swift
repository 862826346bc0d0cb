import NIOCore

/// What waits for the reply, or the run of replies, of what was written to a connection.
///
/// Unsafe continuations keep the per-command cost down; the state machine resumes each exactly once, since a
/// target leaves the pending queue when its reply arrives or when the connection closes, never both.
enum RedisReplyTarget {
    case single(UnsafeContinuation<RESPValue, any Error>)
    case pipeline(RedisPipelineCollector)

    func fail(_ error: any Error) {
        switch self {
        case .single(let continuation): continuation.resume(throwing: error)
        case .pipeline(let collector): collector.continuation.resume(throwing: error)
        }
    }
}

/// Collects the replies of one `pipeline` batch, so a batch costs one continuation instead of one per command.
final class RedisPipelineCollector {
    let continuation: UnsafeContinuation<[Result<RESPValue, RedisError>], any Error>
    let expected: Int
    var results: [Result<RESPValue, RedisError>]

    init(expected: Int, continuation: UnsafeContinuation<[Result<RESPValue, RedisError>], any Error>) {
        self.expected = expected
        self.continuation = continuation
        self.results = []
        self.results.reserveCapacity(expected)
    }
}

/// The commands in flight on one connection, in the order their replies will arrive.
///
/// Once closed it stays closed: after a timeout or a lost connection nobody knows which replies are still
/// coming, so every pending command fails and new ones are refused.
struct RedisConnectionStateMachine {
    private struct Pending {
        var target: RedisReplyTarget
        var deadline: NIODeadline
    }

    private enum State {
        case open
        case closed(any Error)
    }

    private var state = State.open
    private var pending = CircularBuffer<Pending>(initialCapacity: 16)

    enum SendAction {
        case write
        case fail(any Error)
    }

    mutating func send(_ target: RedisReplyTarget, deadline: NIODeadline) -> SendAction {
        switch state {
        case .open:
            pending.append(Pending(target: target, deadline: deadline))
            return .write
        case .closed(let error):
            return .fail(error)
        }
    }

    enum ReceiveAction {
        case resume(UnsafeContinuation<RESPValue, any Error>, Result<RESPValue, any Error>)
        case completePipeline(RedisPipelineCollector)
        case none
        case unexpected
    }

    mutating func receive(_ value: RESPValue) -> ReceiveAction {
        guard case .open = state, let head = pending.first else { return .unexpected }
        switch head.target {
        case .single(let continuation):
            pending.removeFirst()
            if case .error(let message) = value {
                return .resume(continuation, .failure(RedisError.server(message)))
            }
            return .resume(continuation, .success(value))
        case .pipeline(let collector):
            if case .error(let message) = value {
                collector.results.append(.failure(.server(message)))
            } else {
                collector.results.append(.success(value))
            }
            guard collector.results.count == collector.expected else { return .none }
            pending.removeFirst()
            return .completePipeline(collector)
        }
    }

    /// Closes the connection's bookkeeping; returns what must now fail, or nil when it was already closed.
    mutating func close(with error: any Error) -> [RedisReplyTarget]? {
        guard case .open = state else { return nil }
        state = .closed(error)
        let targets = pending.map(\.target)
        pending.removeAll()
        return targets
    }

    /// The deadline of the oldest command; later ones cannot be answered before it, so only it is watched.
    var headDeadline: NIODeadline? {
        pending.first?.deadline
    }

    var pendingCount: Int {
        pending.count
    }

    var isOpen: Bool {
        if case .open = state { true } else { false }
    }
}
