import MeshManifest
import MeshModel

/// The names a CRD gives one custom kind; its group, versions and schema come from the decoder
/// (`ManifestDecoder.supportedKinds`, `ManifestDecoder.openAPIV3Schema(kind:)`).
public struct CustomResourceKind: Hashable, Sendable {
    public var kind: String
    public var plural: String
    public var shortNames: [String]
    /// The API group, where two groups have a kind of this name (SMI's and the Gateway API's
    /// TCPRoute); nil: the decoder's only group for the kind.
    public var groupOverride: String?
    /// GatewayClass: cluster-scoped.
    public var clusterScoped: Bool
    /// Served with a `status` subresource (the controller writes status apart from spec).
    public var statusSubresource: Bool

    public init(kind: String, plural: String, shortNames: [String] = [], group: String? = nil, clusterScoped: Bool = false, statusSubresource: Bool = false) {
        self.kind = kind
        self.plural = plural
        self.shortNames = shortNames
        self.groupOverride = group
        self.clusterScoped = clusterScoped
        self.statusSubresource = statusSubresource
    }

    /// Every custom kind of the mesh (always installed); a test keeps this list and the decoder's in step.
    public static let all: [CustomResourceKind] = [
        CustomResourceKind(kind: "TrafficTarget", plural: "traffictargets", shortNames: ["tt"]),
        CustomResourceKind(kind: "HTTPRouteGroup", plural: "httproutegroups", shortNames: ["htr"]),
        CustomResourceKind(kind: "TCPRoute", plural: "tcproutes", group: "specs.smi-spec.io"),
        CustomResourceKind(kind: "TrafficSplit", plural: "trafficsplits", shortNames: ["ts"]),
        meshConfig,
        CustomResourceKind(kind: "UpstreamTrafficSetting", plural: "upstreamtrafficsettings", shortNames: ["upstreamtrafficsetting"]),
        CustomResourceKind(kind: "Retry", plural: "retries", shortNames: ["retry"]),
        CustomResourceKind(kind: "IngressBackend", plural: "ingressbackends", shortNames: ["ingressbackend"], statusSubresource: true),
        CustomResourceKind(kind: "AccessControl", plural: "accesscontrols", shortNames: ["accesscontrol"]),
        CustomResourceKind(kind: "Egress", plural: "egresses", shortNames: ["egress"]),
        CustomResourceKind(kind: "AccessCert", plural: "accesscerts", shortNames: ["acct"], statusSubresource: true),
        CustomResourceKind(kind: "EgressGateway", plural: "egressgateways", shortNames: ["egressgateway"]),
    ]

    /// The Gateway API's kinds (standard and experimental channels as the decoder reads them) and
    /// FSM Gateway's policies: installed with `fsm.fsmGateway.enabled`.
    public static let gateway: [CustomResourceKind] = [
        CustomResourceKind(kind: "GatewayClass", plural: "gatewayclasses", shortNames: ["gc"], clusterScoped: true, statusSubresource: true),
        CustomResourceKind(kind: "Gateway", plural: "gateways", shortNames: ["gtw"], statusSubresource: true),
        CustomResourceKind(kind: "HTTPRoute", plural: "httproutes", statusSubresource: true),
        CustomResourceKind(kind: "GRPCRoute", plural: "grpcroutes", statusSubresource: true),
        CustomResourceKind(kind: "TCPRoute", plural: "tcproutes", group: GatewayAPI.group, statusSubresource: true),
        CustomResourceKind(kind: "TLSRoute", plural: "tlsroutes", statusSubresource: true),
        CustomResourceKind(kind: "UDPRoute", plural: "udproutes", statusSubresource: true),
    ] + GatewayPolicyKind.allCases.map { policy in
        CustomResourceKind(kind: policy.rawValue, plural: policy.rawValue.lowercased().replacingSuffix("policy", with: "policies"), statusSubresource: true)
    }

    public static let meshConfig = CustomResourceKind(kind: "MeshConfig", plural: "meshconfigs", shortNames: ["meshconfig"])

    /// Every apiVersion the decoder accepts for the kind, `group/version`.
    public var apiVersions: [String] {
        ManifestDecoder.supportedKinds.filter { $0.kind == kind }.flatMap(\.apiVersions)
            .filter { groupOverride == nil || $0.hasPrefix(groupOverride! + "/") }
    }

    /// The first accepted apiVersion: the one `fsm install` writes objects in.
    public var apiVersion: String { apiVersions.first ?? "" }

    public var group: String { String(apiVersion.prefix(while: { $0 != "/" })) }

    /// `<plural>.<group>`.
    public var crdName: String { "\(plural).\(group)" }

    /// The decoder's schema for the kind.
    public var openAPIV3Schema: JSONValue? { ManifestDecoder.openAPIV3Schema(kind: kind, apiVersion: apiVersion) }

    /// The stored version: the most stable, newest one (v1 over v1beta1 over v1alpha2 over v1alpha1).
    static func storageVersion(_ versions: [String]) -> String? {
        func rank(_ version: String) -> (Int, Int, Int) {
            let body = version.dropFirst()
            let major = Int(body.prefix(while: \.isNumber)) ?? 0
            let rest = body.drop(while: \.isNumber)
            let stability = rest.hasPrefix("alpha") ? 0 : rest.hasPrefix("beta") ? 1 : 2
            let minor = Int(rest.drop(while: { !$0.isNumber })) ?? 0
            return (major, stability, minor)
        }
        return versions.max { rank($0) < rank($1) }
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}

extension ControlPlaneManifests {
    /// One CRD per custom kind: every version the decoder accepts is served with the decoder's
    /// schema (they share one shape, so no conversion webhook is needed: `None`), the newest stored.
    func customResourceDefinitions() -> [JSONValue] {
        let kinds = CustomResourceKind.all + (values.bool("fsm.fsmGateway.enabled") ? CustomResourceKind.gateway : [])
        return kinds.map(customResourceDefinition)
    }

    func customResourceDefinition(_ kind: CustomResourceKind) -> JSONValue {
        let versions = kind.apiVersions.map { String($0.drop(while: { $0 != "/" }).dropFirst()) }
        let storage = CustomResourceKind.storageVersion(versions)
        let schema = kind.openAPIV3Schema ?? .object([])
        let versionDocuments: [JSONValue] = versions.map { version in
            var pairs: [(String, JSONValue)] = [
                ("name", .string(version)), ("served", .bool(true)), ("storage", .bool(version == storage)),
                ("schema", .object([("openAPIV3Schema", schema)])),
            ]
            if kind.statusSubresource { pairs.append(("subresources", .object([("status", .object([]))]))) }
            return .object(pairs)
        }
        var names: [(String, JSONValue)] = [
            ("kind", .string(kind.kind)), ("listKind", .string(kind.kind + "List")), ("plural", .string(kind.plural)),
            ("singular", .string(kind.kind.lowercased())),
        ]
        if !kind.shortNames.isEmpty { names.append(("shortNames", .array(kind.shortNames.map { .string($0) }))) }
        return Self.document("apiextensions.k8s.io/v1", "CustomResourceDefinition", metadata(kind.crdName, namespaced: false, perMesh: false), [
            ("spec", .object([
                ("group", .string(kind.group)), ("names", .object(names)), ("scope", .string(kind.clusterScoped ? "Cluster" : "Namespaced")),
                ("versions", .array(versionDocuments)), ("conversion", .object([("strategy", .string("None"))])),
            ])),
        ])
    }
}
