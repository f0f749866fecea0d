#if canImport(CoreFoundation)
// Other files of this module import Foundation; in a whole-module (release) build `struct stat`
// then resolves to the copy in CoreFoundation's headers, whose members MemberImportVisibility
// lets a file use only if it imports that module.
import CoreFoundation
#endif
#if canImport(Glibc)
// A release build finds `struct stat` through Foundation's CoreFoundation (MemberImportVisibility
// then wants that module imported); a debug build through Glibc.
#if canImport(CoreFoundation)
import CoreFoundation
#endif
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that hold secrets (private keys, credentials, cached configurations): readable by their
/// owner only from the first byte. A file is written under a fresh temporary name that `mkstemp`
/// creates exclusively with mode 0600, synced, then renamed over the target, so no reader ever
/// sees it with a wider mode or half written. Directories are 0700.
public enum SecretFile {
    /// Mode of every secret file.
    public static let fileMode: mode_t = 0o600
    /// Mode of every directory that holds secret files.
    public static let directoryMode: mode_t = 0o700

    /// Mode of the public files written beside secrets (certificates): no umask widens them either.
    public static let publicFileMode: mode_t = 0o644
    /// Longest file `read` accepts.
    public static let maxReadBytes = 1 << 20

    /// Writes `bytes` to `path` (replacing it) with `mode` (0600 unless told) from creation.
    public static func write(_ bytes: some Collection<UInt8>, to path: String, mode: mode_t = fileMode) throws(SecretFileError) {
        let temporary = try writeTemporary(Array(bytes), beside: path, mode: mode)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw SecretFileError(operation: "rename into place", path: path, errno: code)
        }
    }

    /// Writes `text` as UTF-8 to `path` with `mode` (0600 unless told) from creation.
    public static func write(_ text: String, to path: String, mode: mode_t = fileMode) throws(SecretFileError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// Creates `path` holding `bytes` (mode 0600 from creation) only if nothing is there yet: of two
    /// processes creating one key at once, one wins and the other reads the winner's. Returns
    /// false (and writes nothing) when `path` exists.
    public static func createNew(_ bytes: some Collection<UInt8>, at path: String) throws(SecretFileError) -> Bool {
        let temporary = try writeTemporary(Array(bytes), beside: path, mode: fileMode)
        defer { unlink(temporary) }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return false }
            throw SecretFileError(operation: "create", path: path, errno: errno)
        }
        return true
    }

    /// Reads a secret file, refusing one that is not a regular file of this user readable by
    /// nobody else (as ssh does with private keys) or larger than `maxReadBytes`.
    public static func read(_ path: String) throws(SecretFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SecretFileError(operation: "read", path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SecretFileError(operation: "inspect", path: path, errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw SecretFileError(operation: "read (not a regular file)", path: path, errno: EINVAL) }
        guard info.st_uid == geteuid() else { throw SecretFileError(operation: "trust (owned by another user)", path: path, errno: EPERM) }
        guard info.st_mode & 0o077 == 0 else {
            throw SecretFileError(operation: "trust (mode \(String(info.st_mode & 0o777, radix: 8)), others may read it; expected 600)", path: path, errno: EPERM)
        }
        guard Int(info.st_size) <= maxReadBytes else { throw SecretFileError(operation: "read (over \(maxReadBytes) bytes)", path: path, errno: EFBIG) }
        return try readAll(fd, path: path)
    }

    /// Creates `path` and any missing parents with mode 0700. An existing directory must belong to
    /// this user and is narrowed to 0700 unless `narrowExisting` is false (a directory the user
    /// named, such as `fsm ca issue --out .`); an existing file of another kind is an error.
    public static func createDirectory(_ path: String, narrowExisting: Bool = true) throws(SecretFileError) {
        var components: [Substring] = []
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            components.append(part)
            prefix += "/" + part
            if mkdir(prefix, directoryMode) != 0, errno != EEXIST {
                throw SecretFileError(operation: "create directory", path: prefix, errno: errno)
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw SecretFileError(operation: "inspect", path: path, errno: errno) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw SecretFileError(operation: "use as a directory", path: path, errno: ENOTDIR) }
        guard info.st_uid == geteuid() else { throw SecretFileError(operation: "use (owned by another user)", path: path, errno: EPERM) }
        if narrowExisting, info.st_mode & 0o777 != directoryMode, chmod(path, directoryMode) != 0 {
            throw SecretFileError(operation: "restrict to mode 0700", path: path, errno: errno)
        }
    }

    /// A new file beside `path` (`mkstemp`: created exclusively, mode 0600), narrowed or widened
    /// to `mode` by `fchmod` (which no umask touches), written and synced; returns its name.
    private static func writeTemporary(_ bytes: [UInt8], beside path: String, mode: mode_t) throws(SecretFileError) -> String {
        var template = Array((path + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SecretFileError(operation: "create", path: path + ".tmp-XXXXXX", errno: errno) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { close(fd) }
        do throws(SecretFileError) {
            guard fchmod(fd, mode) == 0 else { throw SecretFileError(operation: "set mode \(String(mode, radix: 8)) of", path: temporary, errno: errno) }
            try writeAll(bytes, to: fd, path: temporary)
            guard fsync(fd) == 0 else { throw SecretFileError(operation: "sync", path: temporary, errno: errno) }
            return temporary
        } catch {
            unlink(temporary)
            throw error
        }
    }

    private static func readAll(_ fd: Int32, path: String) throws(SecretFileError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SecretFileError(operation: "read", path: path, errno: errno)
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            guard bytes.count <= maxReadBytes else { throw SecretFileError(operation: "read (over \(maxReadBytes) bytes)", path: path, errno: EFBIG) }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(SecretFileError) {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                systemWrite(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw SecretFileError(operation: "write", path: path, errno: errno)
            }
            written += count
        }
    }
}

private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}

private func systemRead(_ fd: Int32, _ bytes: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, bytes, count)
}

/// A secret file or directory that could not be written, in one line: what, where, why.
public struct SecretFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    public init(operation: String, path: String, errno code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(code)))"
    }
}
