import MeshModel
import Testing

/// A flat object written key by key is the same bytes as the `JSONValue` it stands for.
struct JSONObjectWriterTests {
    @Test func writesWhatJSONValueRenders() {
        var writer = JSONObjectWriter()
        writer.field("text", "quote \" backslash \\ newline \n tab \t bell \u{07} é")
        writer.field("missing", nil as String?)
        writer.field("count", -42)
        writer.field("whole", 3.0)
        writer.field("fraction", 0.1234567)
        writer.field("stamp", asciiBytes: Array("2026-12-06T16:45:00.123Z".utf8))
        let expected = JSONValue.object([
            ("text", .string("quote \" backslash \\ newline \n tab \t bell \u{07} é")),
            ("missing", .null),
            ("count", .int(-42)),
            ("whole", .double(3.0)),
            ("fraction", .double(0.1234567)),
            ("stamp", .string("2026-12-06T16:45:00.123Z")),
        ])
        #expect(writer.finish(suffix: "\n") == expected.rendered() + "\n")
    }

    @Test func anEmptyObjectIsBraces() {
        var writer = JSONObjectWriter()
        #expect(writer.finish() == "{}")
    }
}
