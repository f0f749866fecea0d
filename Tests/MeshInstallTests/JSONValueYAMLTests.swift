import MeshManifest
import MeshModel
import Testing

/// `JSONValue.renderedYAML`: strings that a YAML reader could take for something else are quoted,
/// and every value reads back as itself.
@Suite struct JSONValueYAMLTests {
    @Test func ambiguousStringsAreQuotedAndReadBack() throws {
        let strings = ["true", "no", "Y", "null", "~", "10", "0.10.0", "1e3", "0777", "2001-12-14", "a: b", "x #y", "", " lead", "trail ",
                       "line\nbreak", "quote\"d", "-dash", "*star", "&anchor", "!tag", "%pct", "@at", "`tick", "{brace}", "[list]", "colon:",
                       "plain-word", "app.kubernetes.io/name", "/health/alive", "µs"]
        let value = JSONValue.object(strings.enumerated().map { ("k\($0.offset)", .string($0.element)) })
        let yaml = value.renderedYAML()
        let read = try YAMLReader.document(text: yaml, file: "strings.yaml")
        #expect(try YAMLToJSON.convert(read) == value)
        #expect(yaml.contains("k0: \"true\"\n"))
        #expect(yaml.contains("k27: plain-word\n"))
        #expect(yaml.contains("k28: app.kubernetes.io/name\n"))
    }

    @Test func nestedCollectionsKeepTheirShape() throws {
        let value = JSONValue.object([
            ("empty", .object([])), ("none", .array([])), ("null", .null),
            ("list", .array([.int(1), .object([("a", .bool(true)), ("b", .array([.string("x"), .array([.double(0.5)])]))]), .object([])])),
            ("deep", .object([("inner", .object([("items", .array([.object([("name", .string("n")), ("port", .int(443))])]))]))])),
        ])
        let read = try YAMLReader.document(text: value.renderedYAML(), file: "nested.yaml")
        #expect(try YAMLToJSON.convert(read) == value)
        #expect(JSONValue.yamlStream([value, value]).split(separator: "---\n", omittingEmptySubsequences: false).count == 3)
    }
}
