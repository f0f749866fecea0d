import Foundation

/// The files `make fuzz` seeds its targets with (scripts/fuzz-corpus.sh), read from the worktree.
enum SeedCorpus {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The regular files of a directory of the worktree, by name.
    static func files(_ directory: String) -> [URL] {
        let url = root.appendingPathComponent(directory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.sorted().map { url.appendingPathComponent($0) }.filter { !$0.hasDirectoryPath && !$0.lastPathComponent.hasPrefix(".") }
    }

    static func bytes(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }
}

extension Array where Element == UInt8 {
    /// Calls a fuzz entry with these bytes, as libFuzzer would.
    func fuzz(_ entry: (UnsafeRawBufferPointer) throws -> Void) throws {
        try withUnsafeBytes { try entry($0) }
    }
}
