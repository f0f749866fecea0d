import Logging
import NIOConcurrencyHelpers

/// Keeps the messages logged through it, so that a test can count how often a cause was logged.
final class LogCapture: Sendable {
    private let entries = NIOLockedValueBox<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])

    var logger: Logger {
        Logger(label: "test.capture") { _ in Handler(capture: self) }
    }

    func messages(_ level: Logger.Level? = nil) -> [String] {
        entries.withLockedValue { $0.filter { level == nil || $0.level == level }.map(\.message) }
    }

    func count(_ message: String) -> Int {
        messages().filter { $0 == message }.count
    }

    func metadata(of message: String) -> [Logger.Metadata] {
        entries.withLockedValue { $0.filter { $0.message == message }.map(\.metadata) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.entries.withLockedValue { $0.append((event.level, "\(event.message)", merged)) }
        }
    }
}
