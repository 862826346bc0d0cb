import Foundation
import Logging

/// A log handler that keeps every line (message and metadata, as text) for a test to read.
struct RecordingLogHandler: LogHandler {
    /// The lines logged through any handler sharing this store.
    final class Store: @unchecked Sendable {
        // A lock rather than an actor: `LogHandler.log` is synchronous.
        private let lock = NSLock()
        private var lines: [String] = []

        func append(_ line: String) {
            lock.lock()
            lines.append(line)
            lock.unlock()
        }

        var all: [String] {
            lock.lock()
            defer { lock.unlock() }
            return lines
        }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        store.append("\(event.level) \(event.message) \(fields)")
    }

    /// A logger writing into a new store, and the store.
    static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "herald.worker.tests.recorded", factory: { _ in RecordingLogHandler(store: store) }), store)
    }
}
