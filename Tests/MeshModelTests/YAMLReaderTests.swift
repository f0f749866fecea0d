import MeshManifest
import MeshModel
import Testing

@Suite struct YAMLReaderTests {
    @Test func positionsAndPathsOfNestedValues() throws {
        let text = """
        spec:
          ports:
          - port: 80
            name: http
        """
        let docs = try YAMLReader.documents(text: text, file: "a.yaml")
        #expect(docs.count == 1)
        let port = try docs[0].required("spec").required("ports").elements()[0].required("port")
        #expect(port.path == "spec.ports[0].port")
        #expect(port.location == SourceLocation(file: "a.yaml", line: 3, column: 11))
        #expect(port.keyLocation == SourceLocation(file: "a.yaml", line: 3, column: 5))
        #expect(try port.int(in: 1...65535) == 80)
    }

    @Test func wrongTypeNamesExpectedAndFound() throws {
        let doc = try YAMLReader.document(text: "a:\n  b: eighty\n", file: "f.yaml")
        let error = #expect(throws: ManifestError.self) { try doc.required("a").required("b").int() }
        #expect(error == ManifestError(file: "f.yaml", line: 2, column: 6, path: "a.b", message: "expected integer, found string \"eighty\""))
        #expect(error?.description == "f.yaml:2:6: a.b: expected integer, found string \"eighty\"")
    }

    @Test func missingRequiredFieldPointsAtTheParent() throws {
        let doc = try YAMLReader.document(text: "x: 1\nspec:\n  other: 2\n", file: "f.yaml")
        let error = #expect(throws: ManifestError.self) { try doc.required("spec").required("host") }
        #expect(error == ManifestError(file: "f.yaml", line: 3, column: 3, path: "spec.host", message: "missing required field \"host\""))
    }

    @Test func syntaxErrorCarriesPosition() throws {
        let error = #expect(throws: ManifestError.self) { try YAMLReader.documents(text: "a: [1, 2\nb: 3\n", file: "s.yaml", lineOffset: 10, columnOffset: 4) }
        #expect(error?.file == "s.yaml")
        #expect(error?.line ?? 0 > 10)
        #expect(error?.message.hasPrefix("YAML syntax error:") == true)
    }

    /// Found by fuzz-scenario and fuzz-manifest (minimized to `{`): libyaml puts the end of a text
    /// without a final line break on the line after the last, so the error named a line past the file.
    @Test func anErrorAtTheEndOfATextWithoutAFinalBreakIsAtTheEndOfItsLastLine() {
        for (text, line, column) in [("{", 1, 2), ("a: {b: c", 1, 9), ("x: 1\r\ny: [", 2, 5), ("{\n", 2, 1)] {
            let error = #expect(throws: ManifestError.self) { try YAMLReader.documents(text: text, file: "f.yaml") }
            #expect(error.map { [$0.line, $0.column] } == [line, column], "\(text.debugDescription): \(error?.description ?? "no error")")
        }
    }

    @Test func offsetsShiftEveryPosition() throws {
        let doc = try YAMLReader.document(text: "a:\n  b: x\n", file: "outer.yaml", lineOffset: 7, columnOffset: 6)
        let b = try doc.required("a").required("b")
        #expect(b.location == SourceLocation(file: "outer.yaml", line: 9, column: 12))
    }

    @Test func duplicateKeysAreErrors() throws {
        let error = #expect(throws: ManifestError.self) { try YAMLReader.documents(text: "a: 1\na: 2\n", file: "d.yaml") }
        #expect(error?.message == "duplicate key \"a\" in a mapping")
        #expect(error?.line == 1)
    }

    @Test func unknownKeysSuggestTheNearestOrListTheKnownOnes() throws {
        let doc = try YAMLReader.document(text: "name: x\nnmae: y\n", file: "k.yaml")
        let error = #expect(throws: ManifestError.self) { try doc.checkKnownKeys(["name", "value"]) }
        #expect(error == ManifestError(file: "k.yaml", line: 2, column: 1, path: "nmae", message: "unknown field \"nmae\"; did you mean \"name\"?"))
        let far = try YAMLReader.document(text: "name: x\ncolour: y\n", file: "k.yaml")
        let listed = #expect(throws: ManifestError.self) { try far.checkKnownKeys(["name", "value"]) }
        #expect(listed == ManifestError(file: "k.yaml", line: 2, column: 1, path: "colour", message: "unknown field \"colour\"; expected one of: name, value"))
    }

    @Test func scalarsOfEachType() throws {
        let doc = try YAMLReader.document(text: """
        s: "503"
        b: true
        d: 0.25
        t: 1m30s
        l: [a, b]
        m: {k: v}
        p: 8080
        q: http
        e: MINUTE
        n: ~
        """, file: "t.yaml")
        #expect(try doc.string("s") == "503")
        #expect(try doc.required("b").bool() == true)
        #expect(try doc.required("d").double() == 0.25)
        #expect(try doc.required("t").duration() == .seconds(90))
        #expect(try doc.required("l").stringList() == ["a", "b"])
        #expect(try doc.required("m").stringMap() == ["k": "v"])
        #expect(try doc.required("p").intOrString() == .int(8080))
        #expect(try doc.required("q").intOrString() == .string("http"))
        #expect(try doc.required("e").oneOf(RateLimitUnit.self, caseInsensitive: true) == .minute)
        #expect(try doc.optional("n") == nil)
        #expect(!doc.has("n"))
        #expect(try doc.keys().map(\.key) == ["s", "b", "d", "t", "l", "m", "p", "q", "e", "n"])
    }

    @Test func embeddedManifestErrorsPointIntoTheOuterFile() throws {
        let scenario = """
        name: canary
        manifests: |
          apiVersion: v1
          kind: Service
          metadata:
            name: web
          spec:
            ports:
            - port: 99999
        steps:
          - at: 10s
            apply: |
                apiVersion: split.smi-spec.io/v1alpha4
                kind: TrafficSplit
        """
        let doc = try YAMLReader.document(text: scenario, file: "canary.yaml")
        let embedded = try doc.required("manifests").embeddedText()
        #expect(embedded.lineOffset == 2)
        #expect(embedded.columnOffset == 2)
        let error = #expect(throws: ManifestError.self) {
            try ManifestDecoder.decode(embedded.text, file: "canary.yaml", lineOffset: embedded.lineOffset, columnOffset: embedded.columnOffset)
        }
        // `99999` is on line 9, column 13 of canary.yaml.
        #expect(error == ManifestError(file: "canary.yaml", line: 9, column: 13, path: "spec.ports[0].port", message: "must be between 1 and 65535, found 99999"))

        let step = try doc.required("steps").elements()[0].required("apply").embeddedText()
        #expect(step.lineOffset == 12)
        #expect(step.columnOffset == 8)
        let kind = try YAMLReader.document(text: step.text, file: "canary.yaml", lineOffset: step.lineOffset, columnOffset: step.columnOffset).required("kind")
        #expect(kind.location == SourceLocation(file: "canary.yaml", line: 14, column: 15))
    }
}
