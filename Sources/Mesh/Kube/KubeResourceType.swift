import MeshModel

/// One kind of object the API serves: where its collection lives and what its list calls it.
public struct KubeResourceType: Hashable, Sendable, CustomStringConvertible {
    /// Empty for the core group (`/api/v1`).
    public var group: String
    public var version: String
    /// The URL name: `pods`, `trafficsplits`.
    public var plural: String
    public var kind: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool = true) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    /// `v1` or `apps/v1`, as objects spell it.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// The collection path: `/api/v1/pods`, `/api/v1/namespaces/bookstore/pods`,
    /// `/apis/split.smi-spec.io/v1alpha2/namespaces/x/trafficsplits`.
    public func collectionPath(namespace: String? = nil) -> String {
        let root = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        guard namespaced, let namespace, !namespace.isEmpty else { return "\(root)/\(plural)" }
        return "\(root)/namespaces/\(KubePath.escaped(namespace))/\(plural)"
    }

    /// The path of one object.
    public func objectPath(namespace: String?, name: String) -> String {
        "\(collectionPath(namespace: namespace))/\(KubePath.escaped(name))"
    }

    public var description: String { group.isEmpty ? "\(plural)" : "\(plural).\(group)" }
}

extension KubeResourceType {
    public static let namespaces = KubeResourceType(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
    public static let services = KubeResourceType(group: "", version: "v1", plural: "services", kind: "Service")
    public static let serviceAccounts = KubeResourceType(group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount")
    public static let endpoints = KubeResourceType(group: "", version: "v1", plural: "endpoints", kind: "Endpoints")
    public static let pods = KubeResourceType(group: "", version: "v1", plural: "pods", kind: "Pod")
    public static let secrets = KubeResourceType(group: "", version: "v1", plural: "secrets", kind: "Secret")
    public static let configMaps = KubeResourceType(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap")
    public static let deployments = KubeResourceType(group: "apps", version: "v1", plural: "deployments", kind: "Deployment")
    public static let statefulSets = KubeResourceType(group: "apps", version: "v1", plural: "statefulsets", kind: "StatefulSet")
    public static let trafficTargets = KubeResourceType(group: "access.smi-spec.io", version: "v1alpha3", plural: "traffictargets", kind: "TrafficTarget")
    public static let httpRouteGroups = KubeResourceType(group: "specs.smi-spec.io", version: "v1alpha4", plural: "httproutegroups", kind: "HTTPRouteGroup")
    public static let tcpRoutes = KubeResourceType(group: "specs.smi-spec.io", version: "v1alpha4", plural: "tcproutes", kind: "TCPRoute")
    public static let trafficSplits = KubeResourceType(group: "split.smi-spec.io", version: "v1alpha2", plural: "trafficsplits", kind: "TrafficSplit")
    public static let meshConfigs = KubeResourceType(group: "config.flomesh.io", version: "v1alpha1", plural: "meshconfigs", kind: "MeshConfig")
    public static let upstreamTrafficSettings = KubeResourceType(group: "policy.flomesh.io", version: "v1alpha1", plural: "upstreamtrafficsettings", kind: "UpstreamTrafficSetting")
    public static let retries = KubeResourceType(group: "policy.flomesh.io", version: "v1alpha1", plural: "retries", kind: "Retry")
    public static let accessControls = KubeResourceType(group: "policy.flomesh.io", version: "v1alpha1", plural: "accesscontrols", kind: "AccessControl")
    public static let egresses = KubeResourceType(group: "policy.flomesh.io", version: "v1alpha1", plural: "egresses", kind: "Egress")
    public static let accessCerts = KubeResourceType(group: "policy.flomesh.io", version: "v1alpha1", plural: "accesscerts", kind: "AccessCert")
    public static let egressGateways = KubeResourceType(group: "policy.flomesh.io", version: "v1alpha1", plural: "egressgateways", kind: "EgressGateway")
    public static let ingressBackends = KubeResourceType(group: "policy.flomesh.io", version: "v1alpha1", plural: "ingressbackends", kind: "IngressBackend")
    public static let ingresses = KubeResourceType(group: "networking.k8s.io", version: "v1", plural: "ingresses", kind: "Ingress")
    public static let gatewayClasses = KubeResourceType(group: GatewayAPI.group, version: "v1", plural: "gatewayclasses", kind: "GatewayClass", namespaced: false)
    public static let gateways = KubeResourceType(group: GatewayAPI.group, version: "v1", plural: "gateways", kind: "Gateway")
    public static let httpRoutes = KubeResourceType(group: GatewayAPI.group, version: "v1", plural: "httproutes", kind: "HTTPRoute")
    public static let grpcRoutes = KubeResourceType(group: GatewayAPI.group, version: "v1", plural: "grpcroutes", kind: "GRPCRoute")
    public static let gatewayTCPRoutes = KubeResourceType(group: GatewayAPI.group, version: "v1alpha2", plural: "tcproutes", kind: "TCPRoute")
    public static let tlsRoutes = KubeResourceType(group: GatewayAPI.group, version: "v1alpha2", plural: "tlsroutes", kind: "TLSRoute")
    public static let udpRoutes = KubeResourceType(group: GatewayAPI.group, version: "v1alpha2", plural: "udproutes", kind: "UDPRoute")
    public static let ingressClasses = KubeResourceType(group: "networking.k8s.io", version: "v1", plural: "ingressclasses", kind: "IngressClass", namespaced: false)
    /// FSM Gateway's ten policies (`gateway.flomesh.io/v1alpha1`), plural as their CRDs name them.
    public static let gatewayPolicies: [KubeResourceType] = GatewayPolicyKind.allCases.map { kind in
        let name = kind.rawValue.lowercased()
        return KubeResourceType(group: "gateway.flomesh.io", version: "v1alpha1", plural: String(name.dropLast("policy".count)) + "policies", kind: kind.rawValue)
    }
    public static let leases = KubeResourceType(group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease")
    public static let mutatingWebhookConfigurations = KubeResourceType(
        group: "admissionregistration.k8s.io", version: "v1", plural: "mutatingwebhookconfigurations", kind: "MutatingWebhookConfiguration", namespaced: false)
    public static let validatingWebhookConfigurations = KubeResourceType(
        group: "admissionregistration.k8s.io", version: "v1", plural: "validatingwebhookconfigurations", kind: "ValidatingWebhookConfiguration", namespaced: false)

    public static let customResourceDefinitions = KubeResourceType(
        group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions", kind: "CustomResourceDefinition", namespaced: false)
    public static let clusterRoles = KubeResourceType(group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterroles", kind: "ClusterRole", namespaced: false)
    public static let clusterRoleBindings = KubeResourceType(
        group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterrolebindings", kind: "ClusterRoleBinding", namespaced: false)
    public static let roles = KubeResourceType(group: "rbac.authorization.k8s.io", version: "v1", plural: "roles", kind: "Role")
    public static let roleBindings = KubeResourceType(group: "rbac.authorization.k8s.io", version: "v1", plural: "rolebindings", kind: "RoleBinding")

    /// The kinds `fsm install` writes besides the mesh's own (CRDs, RBAC, webhooks, Secrets, ConfigMaps,
    /// the GatewayClass and IngressClass of `fsm.fsmGateway.enabled`/`fsm.fsmIngress.enabled`).
    public static let controlPlaneKinds: [KubeResourceType] = [
        .namespaces, .customResourceDefinitions, .serviceAccounts, .clusterRoles, .clusterRoleBindings, .roles, .roleBindings,
        .secrets, .configMaps, .meshConfigs, .services, .deployments, .mutatingWebhookConfigurations, .validatingWebhookConfigurations,
        .gatewayClasses, .ingressClasses,
    ]

    /// The type of an object by its `apiVersion` and `kind`, among `types`; nil for any other.
    public static func of(apiVersion: String, kind: String, among types: [KubeResourceType]) -> KubeResourceType? {
        types.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }

    /// The Gateway API's kinds and FSM Gateway's policies (`fsm controller --gateway`).
    public static let gatewayKinds: [KubeResourceType] = [.gatewayClasses, .gateways, .httpRoutes, .grpcRoutes, .gatewayTCPRoutes, .tlsRoutes, .udpRoutes] + gatewayPolicies

    /// The kinds of FSM's ingress controller (`fsm controller --ingress`).
    public static let ingressKinds: [KubeResourceType] = [.ingresses, .ingressBackends]

    /// What the controller watches with the gateway and the ingress as asked: the mesh's kinds,
    /// then the edge's, and the Secrets the edge reads (`KubeClusterSource` passes on only those of
    /// namespaces holding an edge object).
    public static func watched(gateway: Bool, ingress: Bool) -> [KubeResourceType] {
        let edge = (gateway ? gatewayKinds : []) + (ingress ? ingressKinds : [])
        return meshKinds + edge + (edge.isEmpty ? [] : [.secrets])
    }

    /// The model's kind of objects of this type (the Gateway API's TCPRoute is not SMI's).
    public var resourceKind: ResourceKind? {
        group == GatewayAPI.group && kind == "TCPRoute" ? .gatewayTCPRoute : ResourceKind(rawValue: kind)
    }

    /// What the controller watches: every kind `ManifestDecoder` decodes (DECISIONS: one served
    /// version per API group, the one the guides' manifests use).
    public static let meshKinds: [KubeResourceType] = [
        .meshConfigs, .namespaces, .serviceAccounts, .services, .endpoints, .deployments, .statefulSets, .pods,
        .trafficTargets, .httpRouteGroups, .tcpRoutes, .trafficSplits, .upstreamTrafficSettings, .retries, .accessControls,
        .egresses, .accessCerts, .egressGateways,
    ]
}

/// Path segments and query strings for API URLs.
public enum KubePath {
    /// Percent-encodes everything but RFC 3986 unreserved characters.
    public static func escaped(_ text: String) -> String {
        URIQuery.escaped(text)
    }

    /// `?a=1&b=2` from pairs in order (values escaped); empty for no pairs.
    public static func query(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "?" + pairs.map { "\($0.0)=\(escaped($0.1))" }.joined(separator: "&")
    }
}
