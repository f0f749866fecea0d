import MeshInject
import MeshModel
import Testing

@Suite struct JSONPatchTests {
    @Test func pointersEscapeTildeAndSlash() {
        let pointer = JSONPointer("metadata", "annotations", "prometheus.io/scrape", "a~b")
        #expect(pointer.description == "/metadata/annotations/prometheus.io~1scrape/a~0b")
        #expect(JSONPointer(parsing: pointer.description) == pointer)
        #expect(JSONPointer(parsing: "no-slash") == nil)
        #expect(JSONPointer(parsing: "/bad~2escape") == nil)
        #expect(JSONPointer(parsing: "") == JSONPointer([]))
    }

    @Test func operationsApplyInOrder() throws {
        let document: JSONValue = .object([("a", .array([.int(1), .int(2)])), ("b", .object([("c", .string("x"))]))])
        let patch = JSONPatch([
            .add(JSONPointer("a", "-"), .int(3)),
            .add(JSONPointer("a", "0"), .int(0)),
            .replace(JSONPointer("b", "c"), .string("y")),
            .add(JSONPointer("b", "d"), .bool(true)),
            .remove(JSONPointer("a", "1")),
        ])
        let result = try patch.apply(to: document)
        #expect(result == .object([("a", .array([.int(0), .int(2), .int(3)])), ("b", .object([("c", .string("y")), ("d", .bool(true))]))]))
        #expect(patch.json.rendered() == #"[{"op":"add","path":"/a/-","value":3},{"op":"add","path":"/a/0","value":0},{"op":"replace","path":"/b/c","value":"y"},{"op":"add","path":"/b/d","value":true},{"op":"remove","path":"/a/1"}]"#)
    }

    @Test func impossibleOperationsSayWhich() {
        let document: JSONValue = .object([("a", .array([.int(1)]))])
        #expect(throws: JSONPatchError(index: 0, problem: "replace /b: no member \"b\"")) { try JSONPatch([.replace(JSONPointer("b"), .null)]).apply(to: document) }
        #expect(throws: JSONPatchError(index: 1, problem: "add /a/5: index 5 is past the end (2)")) {
            try JSONPatch([.add(JSONPointer("a", "-"), .null), .add(JSONPointer("a", "5"), .null)]).apply(to: document)
        }
        #expect(throws: JSONPatchError(index: 0, problem: "add /a/0/x: \"x\" is inside a value that is neither an object nor an array")) {
            try JSONPatch([.add(JSONPointer("a", "0", "x"), .null)]).apply(to: document)
        }
    }
}
