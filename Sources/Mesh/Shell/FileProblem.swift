#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file or directory the shell could not use, in one line of plain words: what it is, what went
/// wrong and, where there is one, what to do (`scenarios: is a directory; give scenario files
/// (e.g. scenarios/*.yaml)`). Never a Foundation or NIO error description.
public struct FileProblem: Error, Hashable, Sendable, CustomStringConvertible {
    /// What the user named: a path, or an option with its path (`--json /tmp`).
    public var subject: String
    public var message: String

    public init(subject: String, message: String) {
        self.subject = subject
        self.message = message
    }

    public var description: String { "\(subject): \(message)" }
}

/// Operating-system errors (errno) in plain words, as the C library words them, for every shell's
/// messages (files here, sockets in MeshRuntime's `NetworkErrorText`).
public enum SystemErrorText {
    /// `no such file or directory`, `permission denied`, `connection refused`, `address already in use`.
    public static func describe(errno code: Int32) -> String {
        let text = String(cString: strerror(code))
        guard !text.isEmpty else { return "error \(code)" }
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
