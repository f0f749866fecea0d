import Foundation
import MeshManifest
import MeshModel
import MeshShell

/// The embedded cluster source: every `*.yaml`/`*.yml` file of one directory (not recursive),
/// read in name order. `poll()` re-reads only files whose modification time or size changed.
/// A file that does not decode keeps the resources of its last good read and its error is kept
/// (`errors`) and counted (`failedReads`) until a good read replaces it. Across files the
/// resources must hold together (`ManifestSet`): a resource defined again in a later file (name
/// order), a second pod with one IP, or pods past the limit are left out and reported with both
/// places.
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
    /// The files' resources that hold together, and the problems of those that do not.
    private var consistency = ManifestSet()

    public init(path: String, defaultNamespace: String = "default") {
        self.path = path
        self.defaultNamespace = defaultNamespace
    }

    /// The problems in force: one per bad file (`file:line:column: ...`), in file order.
    public var errors: [String] {
        (directoryError.map { [$0] } ?? []) + files.keys.sorted().compactMap { files[$0]?.error } + consistency.problems.map(\.description)
    }

    /// Every resource of every file (last good read of each), files in name order, less those
    /// `ManifestSet` left out.
    public var resources: [Resource] {
        consistency.accepted.map(\.resource)
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
            names = try InputFile.listDirectory(path)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
        } catch {
            // A directory that vanished or cannot be read keeps what it held.
            let text = "\(error)"
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
                let bytes = try InputFile.read(filePath, limit: ManifestLimits.maxFileBytes, directoryHint: "manifests are *.yaml files",
                                               tooLarge: SourceText.tooLarge)
                let text = try SourceText.decode(bytes, file: filePath)
                let decoded = try ManifestDecoder.decode(text, file: filePath, defaultNamespace: defaultNamespace)
                if decoded != state.resources || files[name] == nil { changed = true }
                state.resources = decoded
                state.error = nil
                if previousError != nil { changed = true }
            } catch {
                // A FileProblem (`path: message`) or a ManifestError (`file:line:column: path: message`).
                failedReads += 1
                state.error = "\(error)"
                newErrors.append("\(error)")
            }
            files[name] = state
        }
        if changed { newErrors += recheckSet() }
        return PollResult(changed: changed, newErrors: newErrors)
    }

    /// Checks every file's resources together again; returns the problems that are new.
    private mutating func recheckSet() -> [String] {
        let before = Set(consistency.problems)
        consistency = ManifestSet(files.keys.sorted().flatMap { files[$0]!.resources })
        let fresh = consistency.problems.filter { !before.contains($0) }
        failedReads += fresh.count
        return fresh.map(\.description)
    }
}
