import Foundation
import Logging

/// Process-wide logging set-up for the executables (libraries only take a `Logger`).
public enum LoggingBootstrap {
    /// One line per event to standard error, at the given level.
    public static func bootstrap(label: String, level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// Shortens text that goes into logs, so tool arguments and results never flood them.
public enum LogText {
    public static func truncated(_ text: String, limit: Int = 200) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "…(\(text.count) chars)"
    }
}
