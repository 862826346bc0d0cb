import Foundation
import Logging

extension Logger {
    /// A logger for tests: silent unless `HERALD_TEST_LOG` names a level (e.g. `debug`), so a failure can be
    /// replayed with the logs of the code under test.
    public static func test(_ label: String) -> Logger {
        guard let level = ProcessInfo.processInfo.environment["HERALD_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) else {
            return Logger(label: label) { _ in SwiftLogNoOpLogHandler() }
        }
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }
}
