import MeshModel

/// The Gateway API's HTTPPathModifier, as URLRewrite and RequestRedirect apply it to a path
/// without its query (the query is kept by the caller).
enum PathModifier: Hashable, Sendable {
    case replaceFullPath(String)
    /// Replaces the prefix the rule's PathPrefix match matched, element-wise: a trailing `/` of
    /// the prefix or of the replacement does not count, and the result is never empty
    /// (`/foo/bar` with prefix `/foo` and replacement `/xyz` is `/xyz/bar`; with `` or `/`, `/bar`).
    case replacePrefixMatch(String)

    /// The modified path, or `path` as it was when a prefix replacement has no matched prefix or
    /// the prefix does not match element-wise.
    func apply(to path: Substring, matchedPrefix: String?) -> String {
        switch self {
        case .replaceFullPath(let full):
            return full
        case .replacePrefixMatch(let replacement):
            guard let matchedPrefix else { return String(path) }
            let prefix = PathModifier.withoutTrailingSlash(matchedPrefix)
            guard path.hasPrefix(prefix) else { return String(path) }
            let rest = path.dropFirst(prefix.count)
            guard rest.isEmpty || rest.hasPrefix("/") else { return String(path) }
            let result = String(PathModifier.withoutTrailingSlash(replacement) + rest)
            if result.isEmpty { return "/" }
            return result.hasPrefix("/") ? result : "/" + result
        }
    }

    private static func withoutTrailingSlash(_ text: String) -> Substring {
        text.hasSuffix("/") ? text.dropLast() : text[...]
    }

    /// `path` split at its `?`: the path part and the query with its `?` (empty when none).
    static func split(_ path: String) -> (path: Substring, query: Substring) {
        if let question = path.firstIndex(of: "?") { return (path[..<question], path[question...]) }
        return (path[...], "")
    }
}
