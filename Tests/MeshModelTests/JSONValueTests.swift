import MeshModel
import Testing

@Suite struct JSONValueTests {
    static let sample: JSONValue = .object([
        ("name", .string("bookstore")),
        ("port", .int(14001)),
        ("weight", .double(0.25)),
        ("enabled", .bool(true)),
        ("missing", .null),
        ("tags", .array([.string("a"), .int(-2)])),
        ("empty", .object([])),
        ("none", .array([])),
    ])

    @Test func compactKeepsInsertionOrder() {
        #expect(Self.sample.rendered() == #"{"name":"bookstore","port":14001,"weight":0.25,"enabled":true,"missing":null,"tags":["a",-2],"empty":{},"none":[]}"#)
    }

    @Test func prettyIndentsByTwo() {
        let expected = """
        {
          "name": "bookstore",
          "port": 14001,
          "weight": 0.25,
          "enabled": true,
          "missing": null,
          "tags": [
            "a",
            -2
          ],
          "empty": {},
          "none": []
        }
        """
        #expect(Self.sample.rendered(pretty: true) == expected)
    }

    @Test func stringsAreEscaped() {
        #expect(JSONValue.string("a\"b\\c\n\r\t\u{01}é").rendered() == #""a\"b\\c\n\r\t\u0001é""#)
    }

    @Test(arguments: [
        (1.0, "1"), (-3.0, "-3"), (0.1 + 0.2, "0.3"), (1.0 / 3.0, "0.333333"), (2.5e-7, "0"), (-0.0000006, "-0.000001"),
        (1.9999996, "2"), (-0.0, "0"), (123456.789, "123456.789"), (1e15, "1000000000000000"), (1e20, "1e+20"),
        (-4.5e18, "-4500000000000000000"), (1e15 + 0.5, "1000000000000000.5"), (Double.nan, "null"), (Double.infinity, "null"),
        // Found by fuzz-config-json: fractions from about 9.2e12 on overflowed Int64 (a crash).
        (88888888888888.8, "88888888888888.8"), (-9.3e12 - 0.25, "-9300000000000.25"), (999999999999.5, "999999999999.5"),
    ])
    func numbersAreStable(value: Double, text: String) {
        #expect(JSONValue.format(value) == text)
    }

    @Test func equalityAndLookup() {
        let a: JSONValue = .object([("x", .int(1)), ("y", .string("z"))])
        let b: JSONValue = .object([("x", .int(1)), ("y", .string("z"))])
        let reordered: JSONValue = .object([("y", .string("z")), ("x", .int(1))])
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != reordered)
        #expect(a["y"] == .string("z"))
        #expect(a["nope"] == nil)
        #expect(JSONValue.array([.int(1)])["x"] == nil)
        #expect(JSONValue.int(7) == .int(Int64(7)))
    }
}
