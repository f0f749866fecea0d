import ArgumentParser
import Logging
import MeshRuntime

extension LoggingSystem {
    /// Every logger of the process writes to standard error from `level` up (the long-running
    /// subcommands: controller, sidecar, injector, demo apps, up).
    public static func bootstrapStandardError(level: Logger.Level) {
        bootstrapStandardError(levelSwitch: LogLevelSwitch(.level(level)))
    }

    /// Every logger of the process writes to standard error from the switch's level up, as it is
    /// at each message (a sidecar without `--log-level` follows its config's level).
    public static func bootstrapStandardError(levelSwitch: LogLevelSwitch) {
        bootstrap { label in
            SwitchedLogHandler(StreamLogHandler.standardError(label: label), levelSwitch: levelSwitch)
        }
    }

    /// The level a `--log-level` value names (`warn` and `warning` alike), or a usage error in
    /// one line that lists the names.
    public static func level(_ text: String, option: String = "--log-level") throws -> Logger.Level {
        guard let level = LogLevelName.level(text) else { throw ValidationError(LogLevelName.problem(option: option, value: text)) }
        return level
    }
}
