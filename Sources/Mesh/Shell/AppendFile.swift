#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written only at its end, such as an access log: opened once (`O_APPEND`, so two writers
/// never overwrite each other), created with `mode` when missing (0600 by default, from its first
/// byte: the mode goes to open(2)), and closed when the last reference to it goes. Standard output
/// is one too, and is never closed. Plain POSIX calls, so the sidecar needs no Foundation for it.
public final class AppendFile: Sendable {
    private let descriptor: Int32
    private let closesOnDeinit: Bool

    /// The process's standard output (what `kubectl logs` shows).
    public static let standardOutput = AppendFile(descriptor: STDOUT_FILENO, closesOnDeinit: false)

    private init(descriptor: Int32, closesOnDeinit: Bool) {
        self.descriptor = descriptor
        self.closesOnDeinit = closesOnDeinit
    }

    /// Opens `path` for appending, creating it with `mode` when it is missing.
    public convenience init(path: String, mode: mode_t = 0o600) throws(FileProblem) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw FileProblem(subject: path, message: "cannot open for appending: \(SystemErrorText.describe(errno: errno))")
        }
        self.init(descriptor: fd, closesOnDeinit: true)
    }

    /// Writes the whole text (short writes and interruptions retried); the errno when it could not.
    @discardableResult
    public func write(_ text: String) -> Int32? {
        OutputFile.writeAll(Array(text.utf8), to: descriptor)
    }

    deinit {
        if closesOnDeinit { close(descriptor) }
    }
}
