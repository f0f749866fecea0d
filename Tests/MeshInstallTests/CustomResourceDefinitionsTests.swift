import MeshInstall
import MeshManifest
import MeshModel
import Testing

/// The CRDs are the decoder's schema table: every custom kind has one, every field the schema
/// allows (with a value of its type) is a field the decoder accepts, and a field it does not name
/// is refused by the decoder too.
@Suite struct CustomResourceDefinitionsTests {
    @Test func everyCustomKindTheDecoderReadsHasACRD() {
        #expect(CustomResourceKind.all.map(\.kind) == ManifestDecoder.customResourceKinds)
        #expect(ManifestDecoder.customResourceKinds == ["TrafficTarget", "HTTPRouteGroup", "TCPRoute", "TrafficSplit", "MeshConfig", "UpstreamTrafficSetting", "Retry", "IngressBackend", "AccessControl", "Egress",
                                                      "AccessCert", "EgressGateway"])
        let crds = ControlPlaneManifests().documents().filter { $0["kind"] == .string("CustomResourceDefinition") }
        #expect(crds.map { $0["metadata"]?["name"] } == CustomResourceKind.all.map { .string($0.crdName) })
        for (crd, kind) in zip(crds, CustomResourceKind.all) {
            guard case .array(let versions)? = crd["spec"]?["versions"] else { Issue.record("no versions"); continue }
            #expect(versions.map { crd["spec"]!["group"]!.rendered().dropFirst().dropLast() + "/" + $0["name"]!.rendered().dropFirst().dropLast() }
                    == kind.apiVersions.map { Substring($0) })
            #expect(versions.filter { $0["storage"] == .bool(true) }.count == 1)
            #expect(versions.allSatisfy { $0["schema"]?["openAPIV3Schema"] == ManifestDecoder.openAPIV3Schema(kind: kind.kind) })
        }
    }

    @Test(arguments: CustomResourceKind.all)
    func aSampleOfEveryFieldTheSchemaAllowsDecodes(kind: CustomResourceKind) throws {
        let schema = try #require(ManifestDecoder.openAPIV3Schema(kind: kind.kind))
        let sample = SchemaSample.value(schema, field: "")
            .replacing("apiVersion", with: .string(kind.apiVersion))
            .replacing("kind", with: .string(kind.kind))
            .replacing("metadata", with: .object([("name", .string("sample")), ("namespace", .string("sample"))]))
        let decoded = try ManifestDecoder.decode(sample.renderedYAML(), file: "\(kind.kind).yaml")
        #expect(decoded.count == 1)
    }

    @Test(arguments: CustomResourceKind.all)
    func aFieldTheSchemaDoesNotNameIsRefused(kind: CustomResourceKind) throws {
        let schema = try #require(ManifestDecoder.openAPIV3Schema(kind: kind.kind))
        #expect(schema["properties"]?["spec"]?["properties"]?["bogusField"] == nil)
        let text = "apiVersion: \(kind.apiVersion)\nkind: \(kind.kind)\nmetadata: {name: sample}\nspec:\n  bogusField: 1\n"
        #expect(throws: ManifestError.self) { try ManifestDecoder.decode(text, file: "bogus.yaml") }
    }

    @Test func wrongTypesAreWordedAsTheAPIServerWordsThem() throws {
        let schema = try #require(ManifestDecoder.openAPIV3Schema(kind: "MeshConfig"))
        #expect(schema["properties"]?["spec"]?["properties"]?["traffic"]?["properties"]?["enableEgress"] == .object([("type", .string("boolean"))]))
        let text = "apiVersion: config.flomesh.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: fsm-mesh-config}\nspec:\n  traffic:\n    enableEgress: \"no\"\n"
        #expect(throws: ManifestError.self) { try ManifestDecoder.decode(text, file: "meshconfig.yaml") }
    }
}

/// A value of every field an OpenAPI schema describes, each of its type and within its bounds.
enum SchemaSample {
    /// Fields whose strings the decoder reads further.
    static let examples: [String: JSONValue] = [
        "retryOn": .string("5xx,retriable-4xx"), "logLevel": .string("info"), "fsmLogLevel": .string("info"),
        "pathRegex": .string("/books.*"), "path": .string("/books"), "service": .string("bookstore"), "host": .string("bookstore.bookstore.svc.cluster.local"),
    ]

    static func value(_ schema: JSONValue, field: String) -> JSONValue {
        if let example = examples[field], schema["type"] == .string("string") { return example }
        if case .array(let values)? = schema["enum"], let first = values.first { return first }
        switch schema["type"] {
        case .string("object")?:
            guard case .object(let properties)? = schema["properties"] else { return .object([]) }
            return .object(properties.map { ($0.0, value($0.1, field: $0.0)) })
        case .string("array")?:
            return .array([value(schema["items"] ?? .object([]), field: field)])
        case .string("integer")?:
            if case .int(let low)? = schema["minimum"], low > 0 { return .int(low) }
            return .int(1)
        case .string("number")?:
            return .double(0.5)
        case .string("boolean")?:
            return .bool(true)
        case .string("string")?:
            guard case .string(let pattern)? = schema["pattern"] else { return .string("sample") }
            return pattern.contains("ms|s|m|h") ? .string("1m30s") : .string("10.0.0.0/8")
        default:
            return .object([])
        }
    }
}

extension JSONValue {
    func replacing(_ key: String, with value: JSONValue) -> JSONValue {
        guard case .object(let pairs) = self else { return self }
        return .object(pairs.map { $0.0 == key ? (key, value) : $0 })
    }
}

extension CustomResourceKind: CustomTestStringConvertible {
    public var testDescription: String { kind }
}
