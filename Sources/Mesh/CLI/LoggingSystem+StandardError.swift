import Logging

extension LoggingSystem {
    /// Every logger of the process writes to standard error from `level` up (the long-running
    /// subcommands: controller, sidecar, injector, demo apps, up).
    static func bootstrapStandardError(level: Logger.Level) {
        bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
