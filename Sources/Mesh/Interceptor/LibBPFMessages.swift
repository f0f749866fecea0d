import CLibBPF
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// libbpf's own warnings (a map the kernel would not create, a relocation it could not do),
/// collected instead of printed, so an error message can quote them.
enum LibBPFMessages {
    private static let collected = Mutex<[String]>([])
    private static let installed = Mutex(false)
    static let limit = 64

    /// Routes libbpf's output here (once per process); debug messages are dropped.
    static func install() {
        installed.withLock { done in
            guard !done else { return }
            done = true
            _ = libbpf_set_print { level, format, arguments in
                guard let format, let arguments, level != LIBBPF_DEBUG else { return 0 }
                var buffer = [CChar](repeating: 0, count: 2048)
                let written = vsnprintf(&buffer, buffer.count, format, arguments)
                LibBPFMessages.append(String(cString: buffer))
                return written
            }
        }
    }

    static func append(_ message: String) {
        let line = message.trimmingEdges(of: "\n ")
        guard !line.isEmpty else { return }
        collected.withLock { lines in
            lines.append(line)
            if lines.count > limit { lines.removeFirst(lines.count - limit) }
        }
    }

    /// What libbpf said since the last call, and forgets it.
    static func take() -> [String] {
        collected.withLock { lines in
            defer { lines.removeAll() }
            return lines
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing characters of `set`.
    func trimmingEdges(of set: String) -> String {
        let characters = Set(set)
        guard let first = firstIndex(where: { !characters.contains($0) }), let last = lastIndex(where: { !characters.contains($0) }) else { return "" }
        return String(self[first...last])
    }
}
