import Logging
import NIOConcurrencyHelpers

/// The log threshold of a whole process, changeable while it runs: every `SwitchedLogHandler`
/// reads it at each message. A sidecar started without `--log-level` hands its switch to
/// `SidecarSettings.logLevelFromConfig`, and each applied config sets it from
/// `Spec.SidecarLogLevel` (MeshConfig's `spec.sidecar.logLevel`).
public final class LogLevelSwitch: Sendable {
    private let box: NIOLockedValueBox<LogThreshold>

    public init(_ threshold: LogThreshold) {
        box = NIOLockedValueBox(threshold)
    }

    public var threshold: LogThreshold {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }

    /// Sets the threshold; returns whether it changed.
    @discardableResult
    public func set(_ threshold: LogThreshold) -> Bool {
        box.withLockedValue { current in
            defer { current = threshold }
            return current != threshold
        }
    }
}

/// A stream handler whose level is the switch's at the moment of each message.
public struct SwitchedLogHandler: LogHandler {
    private var stream: StreamLogHandler
    private let levelSwitch: LogLevelSwitch

    public init(_ stream: StreamLogHandler, levelSwitch: LogLevelSwitch) {
        self.stream = stream
        self.levelSwitch = levelSwitch
    }

    /// Setting a level on one logger is ignored: the switch decides for the process.
    public var logLevel: Logger.Level {
        get {
            switch levelSwitch.threshold {
            case .level(let level): level
            case .disabled: .critical
            }
        }
        set {}
    }

    public var metadata: Logger.Metadata {
        get { stream.metadata }
        set { stream.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stream[metadataKey: key] }
        set { stream[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        if levelSwitch.threshold == .disabled { return }
        stream.log(event: event)
    }
}
