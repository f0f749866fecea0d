import MeshModel

/// The names a CRD gives one custom kind; its group, versions and schema come from the decoder
/// (`ManifestDecoder.supportedKinds`, `ManifestDecoder.openAPIV3Schema(kind:)`).
public struct CustomResourceKind: Hashable, Sendable {
    public var kind: String
    public var plural: String
    public var shortNames: [String]

    public init(kind: String, plural: String, shortNames: [String] = []) {
        self.kind = kind
        self.plural = plural
        self.shortNames = shortNames
    }

    /// Every custom kind the decoder reads; a test keeps this list and the decoder's in step.
    public static let all: [CustomResourceKind] = [
        CustomResourceKind(kind: "TrafficTarget", plural: "traffictargets", shortNames: ["tt"]),
        CustomResourceKind(kind: "HTTPRouteGroup", plural: "httproutegroups", shortNames: ["htr"]),
        CustomResourceKind(kind: "TCPRoute", plural: "tcproutes"),
        CustomResourceKind(kind: "TrafficSplit", plural: "trafficsplits", shortNames: ["ts"]),
        meshConfig,
        CustomResourceKind(kind: "UpstreamTrafficSetting", plural: "upstreamtrafficsettings", shortNames: ["upstreamtrafficsetting"]),
        CustomResourceKind(kind: "Retry", plural: "retries", shortNames: ["retry"]),
        CustomResourceKind(kind: "AccessControl", plural: "accesscontrols", shortNames: ["accesscontrol"]),
        CustomResourceKind(kind: "Egress", plural: "egresses", shortNames: ["egress"]),
        CustomResourceKind(kind: "EgressGateway", plural: "egressgateways", shortNames: ["egressgateway"]),
    ]

    public static let meshConfig = CustomResourceKind(kind: "MeshConfig", plural: "meshconfigs", shortNames: ["meshconfig"])

    /// Every apiVersion the decoder accepts for the kind, `group/version`.
    public var apiVersions: [String] {
        ManifestDecoder.supportedKinds.first(where: { $0.kind == kind })?.apiVersions ?? []
    }

    /// The first accepted apiVersion: the one `fsm install` writes objects in.
    public var apiVersion: String { apiVersions.first ?? "" }

    public var group: String { String(apiVersion.prefix(while: { $0 != "/" })) }

    /// `<plural>.<group>`.
    public var crdName: String { "\(plural).\(group)" }
}

extension ControlPlaneManifests {
    /// One CRD per custom kind: every version the decoder accepts is served with the decoder's
    /// schema (they share one shape, so no conversion webhook is needed: `None`), the newest stored.
    func customResourceDefinitions() -> [JSONValue] {
        CustomResourceKind.all.map { kind in
            let versions = kind.apiVersions.map { String($0.drop(while: { $0 != "/" }).dropFirst()) }
            let schema = ManifestDecoder.openAPIV3Schema(kind: kind.kind) ?? .object([])
            let versionDocuments: [JSONValue] = versions.enumerated().map { index, version in
                .object([
                    ("name", .string(version)), ("served", .bool(true)), ("storage", .bool(index == versions.count - 1)),
                    ("schema", .object([("openAPIV3Schema", schema)])),
                ])
            }
            var names: [(String, JSONValue)] = [
                ("kind", .string(kind.kind)), ("listKind", .string(kind.kind + "List")), ("plural", .string(kind.plural)),
                ("singular", .string(kind.kind.lowercased())),
            ]
            if !kind.shortNames.isEmpty { names.append(("shortNames", .array(kind.shortNames.map { .string($0) }))) }
            return Self.document("apiextensions.k8s.io/v1", "CustomResourceDefinition", metadata(kind.crdName, namespaced: false, perMesh: false), [
                ("spec", .object([
                    ("group", .string(kind.group)), ("names", .object(names)), ("scope", .string("Namespaced")),
                    ("versions", .array(versionDocuments)), ("conversion", .object([("strategy", .string("None"))])),
                ])),
            ])
        }
    }
}
