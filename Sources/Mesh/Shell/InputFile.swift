#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading what the user hands a command (scenario files, manifest directories): the size is
/// checked before a byte is read, and every failure is a `FileProblem` in plain words.
public enum InputFile {
    /// The bytes of the regular file at `path`, at most `limit` bytes. `directoryHint` says what to
    /// give instead when `path` is a directory (`give scenario files (e.g. scenarios/*.yaml)`);
    /// `tooLarge` words the problem for a file over the limit, given its size.
    public static func read(_ path: String, limit: Int, directoryHint: String, tooLarge: (Int) -> String) throws(FileProblem) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw problem(path, errno: errno, directoryHint: directoryHint) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw problem(path, errno: errno, directoryHint: directoryHint) }
        if info.st_mode & S_IFMT == S_IFDIR { throw problem(path, errno: EISDIR, directoryHint: directoryHint) }
        if info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) > limit {
            throw FileProblem(subject: path, message: tooLarge(Int(info.st_size)))
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw problem(path, errno: errno, directoryHint: directoryHint)
            }
            if count == 0 { return bytes }
            // Pipes and devices have no size up front: the limit holds for them too.
            if bytes.count + count > limit { throw FileProblem(subject: path, message: tooLarge(bytes.count + count)) }
            bytes += chunk[0..<count]
        }
    }

    /// The names in a directory (not `.` and `..`), in no particular order.
    public static func listDirectory(_ path: String) throws(FileProblem) -> [String] {
        guard let directory = opendir(path) else {
            let code = errno
            throw FileProblem(subject: path, message: "cannot read the directory: \(SystemErrorText.describe(errno: code))")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether `path` names a directory (following links).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    private static func problem(_ path: String, errno code: Int32, directoryHint: String) -> FileProblem {
        switch code {
        case EISDIR: FileProblem(subject: path, message: "is a directory; \(directoryHint)")
        case ENOENT: FileProblem(subject: path, message: "no such file")
        default: FileProblem(subject: path, message: "cannot read the file: \(SystemErrorText.describe(errno: code))")
        }
    }
}

/// `read(2)`, named apart from `InputFile.read`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
