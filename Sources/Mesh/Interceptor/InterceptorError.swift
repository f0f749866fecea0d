/// Why `fsm interceptor` could not capture, in one line of plain words (the verifier's refusal
/// carries the tail of its log).
public struct InterceptorError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }

    /// A failed system or libbpf call: what was being done, and errno in words.
    static func system(_ what: String, errno code: Int32) -> InterceptorError {
        InterceptorError("\(what): \(SystemWords.describe(code))")
    }

    /// The kernel's verifier refused a program: its name and the last lines of the verifier log
    /// (where the verifier says what it refused).
    static func verifier(program: String, log: String, lines: Int = 12) -> InterceptorError {
        let tail = log.split(separator: "\n").suffix(lines).joined(separator: "\n  ")
        return InterceptorError("the kernel's verifier refused program \(program):\n  \(tail)")
    }
}
