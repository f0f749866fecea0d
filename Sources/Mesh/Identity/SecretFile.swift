#if canImport(CoreFoundation)
// Other files of this module import Foundation; in a whole-module (release) build `struct stat`
// then resolves to the copy in CoreFoundation's headers, whose members MemberImportVisibility
// lets a file use only if it imports that module.
import CoreFoundation
#endif
#if canImport(Glibc)
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

    /// Writes `bytes` to `path` (replacing it) with mode 0600 from creation.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws(SecretFileError) {
        var template = Array((path + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SecretFileError(operation: "create", path: path + ".tmp-XXXXXX", errno: errno) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard fchmod(fd, fileMode) == 0 else {
            close(fd)
            unlink(temporary)
            throw SecretFileError(operation: "restrict to mode 0600", path: temporary, errno: errno)
        }
        do throws(SecretFileError) {
            try writeAll(Array(bytes), to: fd, path: temporary)
            guard fsync(fd) == 0 else { throw SecretFileError(operation: "sync", path: temporary, errno: errno) }
            close(fd)
            guard rename(temporary, path) == 0 else { throw SecretFileError(operation: "rename into place", path: path, errno: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    /// Writes `text` as UTF-8 to `path` with mode 0600 from creation.
    public static func write(_ text: String, to path: String) throws(SecretFileError) {
        try write(Array(text.utf8), to: path)
    }

    /// Creates `path` and any missing parents with mode 0700. An existing directory is narrowed to
    /// 0700 (it must belong to this user); an existing file of another kind is an error.
    public static func createDirectory(_ path: String) throws(SecretFileError) {
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
        if info.st_mode & 0o777 != directoryMode, chmod(path, directoryMode) != 0 {
            throw SecretFileError(operation: "restrict to mode 0700", path: path, errno: errno)
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
