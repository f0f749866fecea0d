/// A problem in a YAML input, pinned to a file position and a field path.
///
/// Printed as `<file>:<line>:<column>: <path>: <message>`, the form compilers use, so editors can
/// jump to it. The message says what was expected and what was found.
public struct ManifestError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when the position is unknown.
    public var line: Int
    /// 1-based, counted in Unicode scalars like libyaml; 0 when unknown.
    public var column: Int
    /// Field path such as `spec.ports[0].targetPort`; empty for errors about the whole document.
    public var path: String
    public var message: String

    public init(file: String, line: Int, column: Int, path: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public init(at location: SourceLocation, path: String = "", message: String) {
        self.init(file: location.file, line: location.line, column: location.column, path: path, message: message)
    }

    public var location: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    public var description: String {
        path.isEmpty ? "\(file):\(line):\(column): \(message)" : "\(file):\(line):\(column): \(path): \(message)"
    }
}
