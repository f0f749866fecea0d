import MeshModel

/// The OpenAPI v3 schemas of the custom resource kinds, rendered from the decoder's own field
/// table (`ManifestDecoder.schemas`), so a CRD cannot accept a field the controller refuses or
/// refuse one it reads. The schemas are structural (every field typed, or marked
/// `x-kubernetes-preserve-unknown-fields` where the mesh does not look inside), as
/// `apiextensions.k8s.io/v1` requires.
extension ManifestDecoder {
    /// The mesh's own custom kinds (SMI and FSM, IngressBackend and AccessCert among them): the
    /// ones `fsm install` always declares a CRD for. The Gateway API's kinds and FSM Gateway's
    /// policies (`gatewayCustomResourceKinds`) come with `fsm.fsmGateway.enabled`.
    public static let customResourceKinds: [String] = supportedKinds.filter { entry in
        guard let version = entry.apiVersions.first else { return false }
        return version.contains(".") && !version.hasPrefix(GatewayAPI.group + "/") && !version.hasPrefix(GatewayPolicyKind.group + "/")
            && entry.kind != "Ingress"
    }.map(\.kind)

    /// The Gateway API's kinds and FSM Gateway's policies, in the decoder's order.
    public static let gatewayCustomResourceKinds: [String] = supportedKinds.filter { entry in
        guard let version = entry.apiVersions.first else { return false }
        return version.hasPrefix(GatewayAPI.group + "/") || version.hasPrefix(GatewayPolicyKind.group + "/")
    }.map(\.kind)

    /// The `openAPIV3Schema` of a custom resource kind in `apiVersion` (which tells SMI's TCPRoute
    /// from the Gateway API's); nil for the built-in kinds.
    public static func openAPIV3Schema(kind: String, apiVersion: String) -> JSONValue? {
        guard customResourceKinds.contains(kind) || gatewayCustomResourceKinds.contains(kind) else { return nil }
        let key = schemaKey(kind: kind, apiVersion: apiVersion)
        guard case .properties(let fields)? = schemas[key] ?? gatewaySchemas[key] else { return nil }
        // The API server owns metadata: a CRD may only say that it is an object.
        let root = fields.map { field in
            field.name == "metadata" ? SchemaField(name: "metadata", schema: .openObject, required: false) : field
        }
        return FieldSchema.properties(root).openAPI()
    }

    /// The schema of a mesh kind (its first apiVersion).
    public static func openAPIV3Schema(kind: String) -> JSONValue? {
        guard let version = supportedKinds.first(where: { $0.kind == kind })?.apiVersions.first else { return nil }
        return openAPIV3Schema(kind: kind, apiVersion: version)
    }
}

extension FieldSchema {
    /// The OpenAPI v3 (structural) form of this schema.
    func openAPI() -> JSONValue {
        switch self {
        case .any:
            return .object([("x-kubernetes-preserve-unknown-fields", .bool(true))])
        case .openObject:
            return .object([("type", .string("object")), ("x-kubernetes-preserve-unknown-fields", .bool(true))])
        case .scalar(let scalar):
            return scalar.openAPI
        case .properties(let fields):
            var pairs: [(String, JSONValue)] = [("type", .string("object"))]
            pairs.append(("properties", .object(fields.map { ($0.name, $0.schema.openAPI()) })))
            let required = fields.filter(\.required).map { JSONValue.string($0.name) }
            if !required.isEmpty { pairs.append(("required", .array(required))) }
            return .object(pairs)
        case .list(let element, let minItems):
            var pairs: [(String, JSONValue)] = [("type", .string("array")), ("items", element.openAPI())]
            if minItems > 0 { pairs.append(("minItems", .int(minItems))) }
            return .object(pairs)
        case .map(let value):
            return .object([("type", .string("object")), ("additionalProperties", value.openAPI())])
        }
    }
}

extension ScalarSchema {
    /// A Go duration as `MeshDuration` reads it: `0`, or number-unit pairs (`1m30s`, `1.5ms`).
    static let durationPattern = "^(0|([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\u{00B5}s|\u{03BC}s|ms|s|m|h))+$"
    /// An IPv4 (`10.0.0.1/32`) or IPv6 (`fd00::/8`) range; the decoder checks the numbers.
    static let cidrPattern = "^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)/[0-9]{1,3}$"

    var openAPI: JSONValue {
        switch self {
        case .string:
            return .object([("type", .string("string"))])
        case .boolean:
            return .object([("type", .string("boolean"))])
        case .integer(let range):
            return .object([("type", .string("integer"))] + Self.bounds(Double(range.lowerBound), Double(range.upperBound), integral: true))
        case .number(let range):
            return .object([("type", .string("number"))] + Self.bounds(range.lowerBound, range.upperBound, integral: false))
        case .enumeration(let values):
            return .object([("type", .string("string")), ("enum", .array(values.map { .string($0) }))])
        case .duration:
            return .object([("type", .string("string")), ("pattern", .string(Self.durationPattern))])
        case .cidr:
            return .object([("type", .string("string")), ("pattern", .string(Self.cidrPattern))])
        }
    }

    /// `minimum`/`maximum`, left out where the bound is the type's own (`Int.max`).
    private static func bounds(_ low: Double, _ high: Double, integral: Bool) -> [(String, JSONValue)] {
        // Whole bounds print as integers either way; keep them `.int` so they read back as written.
        func value(_ d: Double) -> JSONValue { integral || d == d.rounded() ? .int(Int64(d)) : .double(d) }
        var pairs: [(String, JSONValue)] = []
        if low > -9e18 { pairs.append(("minimum", value(low))) }
        if high < 9e18 { pairs.append(("maximum", value(high))) }
        return pairs
    }
}
