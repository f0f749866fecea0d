#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Report files the user asks for (`--json PATH`, `--html PATH`): checked before a run, so that a
/// path that cannot be written fails at once instead of after the whole run, and written whole.
public enum OutputFile {
    /// Fails when `path` cannot be written as a file: it is a directory, its directory is missing or
    /// not a directory, or it is not writable. Leaves nothing behind. `option` names the option in
    /// the message (`--html`); `example` is a file name to suggest inside a directory (`report.html`).
    public static func check(_ path: String, option: String, example: String) throws(FileProblem) {
        let subject = "\(option) \(path)"
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR {
                let inside = path.hasSuffix("/") ? path + example : path + "/" + example
                throw FileProblem(subject: subject, message: "is a directory; give a file path such as \(inside)")
            }
            // An existing file (or device): opened for writing without truncating it.
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileProblem(subject: subject, message: "cannot write: \(SystemErrorText.describe(errno: errno))") }
            close(fd)
            return
        }
        guard errno == ENOENT || errno == ENOTDIR else { throw FileProblem(subject: subject, message: "cannot write: \(SystemErrorText.describe(errno: errno))") }
        let directory = parent(of: path)
        guard stat(directory, &info) == 0 else {
            throw FileProblem(subject: subject, message: errno == ENOENT ? "the directory \(directory) does not exist" : "cannot use the directory \(directory): \(SystemErrorText.describe(errno: errno))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw FileProblem(subject: subject, message: "\(directory) is not a directory") }
        // Writable: a file created and removed at once proves it (root ignores mode bits; this does not).
        let (fd, temporary) = temporaryFile(beside: path)
        guard fd >= 0 else { throw FileProblem(subject: subject, message: "cannot write in \(directory): \(SystemErrorText.describe(errno: errno))") }
        close(fd)
        unlink(temporary)
    }

    /// Writes `bytes` to `path`: a regular file (or a new one) is replaced whole through a temporary
    /// file and a rename, so readers never see half a report; a device or pipe (`/dev/stdout`) is
    /// written in place.
    public static func write(_ bytes: [UInt8], to path: String, option: String) throws(FileProblem) {
        let subject = "\(option) \(path)"
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileProblem(subject: subject, message: "cannot write: \(SystemErrorText.describe(errno: errno))") }
            defer { close(fd) }
            if let code = writeAll(bytes, to: fd) { throw FileProblem(subject: subject, message: "cannot write: \(SystemErrorText.describe(errno: code))") }
            return
        }
        let (fd, temporary) = temporaryFile(beside: path)
        guard fd >= 0 else { throw FileProblem(subject: subject, message: "cannot write in \(parent(of: path)): \(SystemErrorText.describe(errno: errno))") }
        // mkstemp makes the file 0600; a report is an ordinary file, readable by others.
        fchmod(fd, 0o644)
        let failure = writeAll(bytes, to: fd)
        close(fd)
        if let code = failure ?? (rename(temporary, path) == 0 ? nil : errno) {
            unlink(temporary)
            throw FileProblem(subject: subject, message: "cannot write: \(SystemErrorText.describe(errno: code))")
        }
    }

    /// The directory part of `path` (`.` for a bare name).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func temporaryFile(beside path: String) -> (fd: Int32, path: String) {
        var template = Array((path + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        return (fd, template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    /// nil when every byte was written, else the errno (`AppendFile` writes with it too).
    static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += count
        }
        return nil
    }
}

/// `write(2)`, named apart from `OutputFile.write`.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
