import Foundation
import MeshIdentity
import Testing

@Suite struct SecretFileTests {
    static func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "secret-file-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func mode(_ path: String) throws -> mode_t {
        var info = stat()
        #expect(lstat(path, &info) == 0)
        return info.st_mode & 0o777
    }

    @Test func aWrittenFileIs0600AndHoldsTheBytes() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A permissive umask must not widen the file.
        let old = umask(0)
        defer { umask(old) }
        let path = dir + "/tls.key"
        try SecretFile.write("-----BEGIN PRIVATE KEY-----\n", to: path)
        #expect(try Self.mode(path) == 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "-----BEGIN PRIVATE KEY-----\n")
        // Replacing keeps the mode and leaves no temporary file behind.
        try SecretFile.write(Array(repeating: UInt8(ascii: "k"), count: 100_000), to: path)
        #expect(try Self.mode(path) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["tls.key"])
        #expect(FileManager.default.contents(atPath: path)?.count == 100_000)
    }

    @Test func directoriesAre0700AndExistingOnesAreNarrowed() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SecretFile.createDirectory(dir + "/a/b/c")
        #expect(try Self.mode(dir + "/a/b/c") == 0o700)
        #expect(try Self.mode(dir + "/a") == 0o700)
        let wide = dir + "/wide"
        try FileManager.default.createDirectory(atPath: wide, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try SecretFile.createDirectory(wide)
        #expect(try Self.mode(wide) == 0o700)
    }

    /// Root handing a secret to another user (a pod's sidecar, uid 1500): the directory is 0700 and
    /// the file 0600, both that user's, and the file is theirs before its first byte.
    @Test(.enabled(if: geteuid() == 0, "giving a file to another user needs root"))
    func aSecretForAnotherUserIsTheirsAlone() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let owner = SecretFile.Owner(user: 1500, group: 1500)
        try SecretFile.createDirectory(dir + "/volume", owner: owner)
        try SecretFile.write("token\n", to: dir + "/volume/credential", owner: owner)
        for (path, mode) in [(dir + "/volume", mode_t(0o700)), (dir + "/volume/credential", mode_t(0o600))] {
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_uid == 1500 && info.st_gid == 1500, "\(path)")
            #expect(info.st_mode & 0o777 == mode, "\(path)")
        }
    }

    @Test func publicCompanionsGetExactly0644() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SecretFile.write("-----BEGIN CERTIFICATE-----\n", to: dir + "/ca.crt", mode: SecretFile.publicFileMode)
        #expect(try Self.mode(dir + "/ca.crt") == 0o644)
    }

    @Test func createNewWritesOnceAndNeverReplaces() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try SecretFile.createNew(Array("first".utf8), at: dir + "/credential.key"))
        #expect(try Self.mode(dir + "/credential.key") == 0o600)
        #expect(try SecretFile.createNew(Array("second".utf8), at: dir + "/credential.key") == false)
        #expect(try SecretFile.read(dir + "/credential.key") == Array("first".utf8))
        // No temporary file is left behind either way.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["credential.key"])
    }

    /// Like ssh with private keys: a secret others can read is not used.
    @Test func readRefusesSecretsOthersCanRead() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/private.key"
        try SecretFile.write("key", to: path)
        #expect(try SecretFile.read(path) == Array("key".utf8))
        #expect(chmod(path, 0o644) == 0)
        let error = #expect(throws: SecretFileError.self) { try SecretFile.read(path) }
        #expect(error?.description == "cannot trust (mode 644, others may read it; expected 600) \(path): Operation not permitted")
        #expect(symlink(path, dir + "/link") == 0)
        #expect(throws: SecretFileError(operation: "read", path: dir + "/link", errno: ELOOP)) { try SecretFile.read(dir + "/link") }
        #expect(throws: SecretFileError(operation: "read (not a regular file)", path: dir, errno: EINVAL)) { try SecretFile.read(dir) }
    }

    @Test func anExistingDirectoryTheUserNamedCanBeKept() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(chmod(dir, 0o755) == 0)
        try SecretFile.createDirectory(dir, narrowExisting: false)
        #expect(try Self.mode(dir) == 0o755)
        try SecretFile.createDirectory(dir + "/new", narrowExisting: false)
        #expect(try Self.mode(dir + "/new") == 0o700)
    }

    @Test func failuresSayWhatAndWhereInOneLine() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(FileManager.default.createFile(atPath: dir + "/file", contents: Data()))
        #expect(throws: SecretFileError(operation: "use as a directory", path: dir + "/file", errno: ENOTDIR)) {
            try SecretFile.createDirectory(dir + "/file")
        }
        let error = #expect(throws: SecretFileError.self) { try SecretFile.write("x", to: dir + "/missing/tls.key") }
        #expect(error?.description == "cannot create \(dir)/missing/tls.key.tmp-XXXXXX: No such file or directory")
    }
}
