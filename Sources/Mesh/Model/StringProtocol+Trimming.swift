extension StringProtocol {
    /// The text without the characters at either end that `drop` accepts, such as
    /// `trimming(while: \.isWhitespace)` for Foundation's `trimmingCharacters(in:
    /// .whitespacesAndNewlines)`: the standard library alone, for modules the sidecar links.
    public func trimming(while drop: (Character) -> Bool) -> SubSequence {
        let start = firstIndex { !drop($0) } ?? endIndex
        let end = lastIndex { !drop($0) }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
