/// Path text without Foundation's `NSString` path methods.
public enum FilePaths {
    /// `directory/name`, with one slash between them, as `NSString.appendingPathComponent` gives it
    /// (`a` + `b` and `a/` + `b` are both `a/b`; an empty directory gives `name`).
    public static func joined(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
