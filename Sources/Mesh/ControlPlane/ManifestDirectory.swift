import Foundation
import MeshModel

/// The embedded cluster source: every `*.yaml`/`*.yml` file of one directory (not recursive),
/// read in name order. `poll()` re-reads only files whose modification time or size changed.
/// A file that does not decode keeps the resources of its last good read and its error is kept
/// (`errors`) and counted (`failedReads`) until a good read replaces it.
public struct ManifestDirectory: Sendable {
    public let path: String
    public let defaultNamespace: String

    private struct FileState: Sendable {
        var modified: Date
        var size: Int
        var resources: [DecodedResource] = []
        var error: String?
    }

    private var files: [String: FileState] = [:]
    /// Reads that failed (unreadable or undecodable file, unreadable directory) since the start.
    public private(set) var failedReads = 0
    private var directoryError: String?

    public init(path: String, defaultNamespace: String = "default") {
        self.path = path
        self.defaultNamespace = defaultNamespace
    }

    /// The problems in force: one per bad file (`file:line:column: ...`), in file order.
    public var errors: [String] {
        (directoryError.map { [$0] } ?? []) + files.keys.sorted().compactMap { files[$0]?.error }
    }

    /// Every resource of every file (last good read of each), files in name order.
    public var resources: [Resource] {
        files.keys.sorted().flatMap { files[$0]!.resources.map(\.resource) }
    }

    /// What one poll found.
    public struct PollResult: Sendable {
        /// Whether the resources may differ from the last poll's.
        public var changed: Bool
        /// Errors found by this poll (not the ones already reported).
        public var newErrors: [String]
    }

    /// Looks at the directory and re-reads the files that changed, appeared or went away.
    public mutating func poll() -> PollResult {
        let manager = FileManager.default
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: path)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
        } catch {
            // A directory that vanished or cannot be read keeps what it held.
            let text = "\(path): cannot read the manifest directory: \(error.localizedDescription)"
            let isNew = directoryError != text
            if isNew { failedReads += 1 }
            directoryError = text
            return PollResult(changed: false, newErrors: isNew ? [text] : [])
        }
        directoryError = nil
        var changed = false
        var newErrors: [String] = []
        for gone in Set(files.keys).subtracting(names) {
            files[gone] = nil
            changed = true
        }
        for name in names {
            let filePath = (path as NSString).appendingPathComponent(name)
            guard let attributes = try? manager.attributesOfItem(atPath: filePath),
                  (attributes[.type] as? FileAttributeType) != .typeDirectory else { continue }
            let modified = (attributes[.modificationDate] as? Date) ?? .distantPast
            let size = (attributes[.size] as? Int) ?? -1
            if let known = files[name], known.modified == modified, known.size == size { continue }
            var state = files[name] ?? FileState(modified: modified, size: size)
            state.modified = modified
            state.size = size
            let previousError = state.error
            do {
                guard let data = manager.contents(atPath: filePath) else {
                    throw ManifestError(file: filePath, line: 0, column: 0, message: "cannot read the file")
                }
                guard let text = String(data: data, encoding: .utf8) else {
                    throw ManifestError(file: filePath, line: 0, column: 0, message: "the file is not UTF-8 text")
                }
                let decoded = try ManifestDecoder.decode(text, file: filePath, defaultNamespace: defaultNamespace)
                if decoded != state.resources || files[name] == nil { changed = true }
                state.resources = decoded
                state.error = nil
                if previousError != nil { changed = true }
            } catch {
                // Always a ManifestError: `file:line:column: path: message`.
                failedReads += 1
                state.error = "\(error)"
                newErrors.append("\(error)")
            }
            files[name] = state
        }
        return PollResult(changed: changed, newErrors: newErrors)
    }
}
