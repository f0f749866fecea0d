import Logging

/// Log levels as people write them, one parser for every command that takes a level
/// (`fsm ... --log-level`, `sim --real --sidecar-logs`) and for MeshConfig's
/// `spec.sidecar.logLevel` as a sidecar reads it from its config (`Spec.SidecarLogLevel`).
///
/// swift-log's names (`trace` ... `critical`) plus FSM's: `warn` is `warning`; `fatal` and
/// `panic` are `critical`; `disabled` (config only) silences the sidecar. Case does not matter.
public enum LogLevelName {
    /// What `--log-level` accepts, in the order an error message lists them.
    public static let commandLineNames = ["trace", "debug", "info", "notice", "warn", "warning", "error", "critical"]

    /// The level a command-line value names, or nil.
    public static func level(_ text: String) -> Logger.Level? {
        switch text.lowercased() {
        case "warn": .warning
        case "fatal", "panic": .critical
        default: Logger.Level(rawValue: text.lowercased())
        }
    }

    /// The one-line complaint for a value that is not a level (`--log-level: unknown level
    /// "loud"; expected trace, debug, info, notice, warn, warning, error or critical`).
    public static func problem(option: String, value: String) -> String {
        "\(option): unknown level \"\(value)\"; expected " + commandLineNames.dropLast().joined(separator: ", ") + " or " + commandLineNames.last!
    }

    /// The threshold a config's `SidecarLogLevel` names (MeshConfig's zerolog levels): nil for an
    /// unknown name; `.some(nil)` for `disabled`.
    public static func configThreshold(_ text: String) -> LogThreshold? {
        if text.lowercased() == "disabled" { return .disabled }
        return level(text).map(LogThreshold.level)
    }
}

/// How much a logger lets through: from a level up, or nothing.
public enum LogThreshold: Hashable, Sendable {
    case level(Logger.Level)
    case disabled
}
