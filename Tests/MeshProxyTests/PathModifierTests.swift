import Testing
@testable import MeshProxy

/// The Gateway API's ReplacePrefixMatch table (HTTPPathModifier) and the full-path replacement.
@Suite("Path modifier")
struct PathModifierTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var path: String, prefix: String, replacement: String, expected: String
        var testDescription: String { "\(path) prefix \(prefix) → \"\(replacement)\"" }
    }

    static let table = [
        Row(path: "/foo/bar", prefix: "/foo", replacement: "/xyz", expected: "/xyz/bar"),
        Row(path: "/foo/bar", prefix: "/foo", replacement: "/xyz/", expected: "/xyz/bar"),
        Row(path: "/foo/bar", prefix: "/foo/", replacement: "/xyz", expected: "/xyz/bar"),
        Row(path: "/foo/bar", prefix: "/foo/", replacement: "/xyz/", expected: "/xyz/bar"),
        Row(path: "/foo", prefix: "/foo", replacement: "/xyz", expected: "/xyz"),
        Row(path: "/foo/", prefix: "/foo", replacement: "/xyz", expected: "/xyz/"),
        Row(path: "/foo/bar", prefix: "/foo", replacement: "", expected: "/bar"),
        Row(path: "/foo/", prefix: "/foo", replacement: "", expected: "/"),
        Row(path: "/foo", prefix: "/foo", replacement: "", expected: "/"),
        Row(path: "/foo/", prefix: "/foo", replacement: "/", expected: "/"),
        Row(path: "/foo", prefix: "/foo", replacement: "/", expected: "/"),
        Row(path: "/status/204", prefix: "/status", replacement: "/stream", expected: "/stream/204"),
        Row(path: "/anything", prefix: "/", replacement: "/v2", expected: "/v2/anything"),
    ]

    @Test(arguments: table)
    func replacePrefixMatch(_ row: Row) {
        #expect(PathModifier.replacePrefixMatch(row.replacement).apply(to: row.path[...], matchedPrefix: row.prefix) == row.expected)
    }

    @Test func aPrefixThatDoesNotMatchElementWiseLeavesThePath() {
        #expect(PathModifier.replacePrefixMatch("/xyz").apply(to: "/foobar", matchedPrefix: "/foo") == "/foobar")
        #expect(PathModifier.replacePrefixMatch("/xyz").apply(to: "/foo/bar", matchedPrefix: nil) == "/foo/bar")
    }

    @Test func replaceFullPathIgnoresTheRequestPath() {
        #expect(PathModifier.replaceFullPath("/headers").apply(to: "/get", matchedPrefix: "/get") == "/headers")
    }

    @Test func splitKeepsTheQueryWithItsQuestionMark() {
        let (path, query) = PathModifier.split("/get?a=1&b=2")
        #expect(path == "/get" && query == "?a=1&b=2")
        #expect(PathModifier.split("/get").query.isEmpty)
    }
}
