/// A real-time system the path benchmark drives: subscribers on their own channels, and a publisher that hands
/// events to the system the way its producers do (Herald: a worker's `XADD` to an event partition; nchan: an
/// HTTP `POST` to its publisher location).
protocol PathSystem: Sendable {
    /// The name in the side-by-side table.
    var name: String { get }
    /// One receiver per session, in session order, once `open` returned.
    var receivers: [PathReceiver] { get }
    /// Opens `sessions` subscribers, each on a channel (thread) of its own, ready to receive.
    func open(sessions: Int) async throws
    /// Hands one stamped event per listed session to the system now, stamped just before it is written;
    /// returns when the system acknowledged them all, with the time it took.
    func emit(to sessions: [Int]) async throws -> Double
    /// Receivers that time intermediate stages (Herald with `--tap`: its thread channels as the relay publishes
    /// them), by stage name; the command sets their window with the subscribers'.
    var stageReceivers: [(stage: String, receiver: PathReceiver)] { get }
    /// Ends what `open` began (Herald: each thread's run, so every run obeys the rules) and closes the subscribers.
    func close() async
}
