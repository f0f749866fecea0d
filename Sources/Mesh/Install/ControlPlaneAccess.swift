import MeshModel

/// What each control-plane component asks of the API server: the one table the ClusterRoles and
/// Roles of `fsm install` are rendered from (least privilege: exactly these verbs on exactly these
/// resources, names pinned where the API allows it).
public struct APIAccess: Hashable, Sendable {
    public enum Scope: Hashable, Sendable {
        /// Every namespace, or a cluster-scoped resource (ClusterRole).
        case cluster
        /// The control plane's namespace only (Role).
        case controlPlaneNamespace
    }

    /// The API group, empty for core.
    public var group: String
    public var resource: String
    public var verbs: [String]
    public var scope: Scope
    /// Objects the access is limited to (empty: any). The API ignores names for `list`, `watch`
    /// and `create`, so they are never pinned together with those.
    public var resourceNames: [String]

    public init(_ group: String, _ resource: String, _ verbs: [String], _ scope: Scope, names: [String] = []) {
        self.group = group
        self.resource = resource
        self.verbs = verbs
        self.scope = scope
        self.resourceNames = names
    }
}

/// The control plane's two identities.
public enum ControlPlaneComponent: String, CaseIterable, Sendable {
    case controller = "fsm-controller"
    case injector = "fsm-injector"

    /// The Secrets of the control plane's namespace (MeshKube's `ControllerSecrets`).
    public static let caSecretName = "fsm-ca-bundle"
    public static let credentialSecretName = "fsm-credential-key"
    /// The controller replicas' leader Lease.
    public static let leaseName = "fsm-controller-leader"

    /// The webhook configurations' name (mutating and validating alike), which the injector patches.
    public static func webhookConfigurationName(meshName: String) -> String { "fsm-webhook-config-\(meshName)" }

    /// The gateway and ingress parts the install enables (`fsm controller --gateway/--ingress`).
    public struct Edge: Hashable, Sendable {
        public var gateway: Bool
        public var ingress: Bool

        public init(gateway: Bool = false, ingress: Bool = false) {
            self.gateway = gateway
            self.ingress = ingress
        }
    }

    /// Every (group, resource, verbs) the component's code uses.
    public func access(meshName: String, edge: Edge = Edge()) -> [APIAccess] {
        switch self {
        case .controller: Self.controllerAccess + Self.edgeAccess(edge)
        case .injector: Self.injectorAccess(meshName: meshName)
        }
    }

    /// The Gateway API kinds: FSM Gateway's routes and classes.
    static let gatewayAPIResources = ["gatewayclasses", "gateways", "httproutes", "grpcroutes", "tcproutes", "tlsroutes", "udproutes"]

    /// `--gateway`: list and watch the Gateway API kinds and FSM Gateway's policies, patch the
    /// Gateway API objects' status; with `--ingress` too: list and watch Secrets (only those of
    /// namespaces holding a gateway object reach the model), and apply or delete the gateway pods'
    /// Deployments, Services and credential Secrets in any namespace.
    static func edgeAccess(_ edge: Edge) -> [APIAccess] {
        guard edge.gateway || edge.ingress else { return [] }
        var access: [APIAccess] = []
        if edge.gateway {
            access += gatewayAPIResources.map { APIAccess(GatewayAPI.group, $0, ["list", "watch"], .cluster) }
            access += GatewayPolicyKind.allCases.map {
                APIAccess("gateway.flomesh.io", String($0.rawValue.lowercased().dropLast("policy".count)) + "policies", ["list", "watch"], .cluster)
            }
            access += gatewayAPIResources.map { APIAccess(GatewayAPI.group, "\($0)/status", ["patch"], .cluster) }
        }
        if edge.ingress {
            access += [APIAccess("networking.k8s.io", "ingresses", ["list", "watch"], .cluster), APIAccess("policy.flomesh.io", "ingressbackends", ["list", "watch"], .cluster)]
        }
        return access + [
            APIAccess("", "secrets", ["list", "watch"], .cluster),
            APIAccess("apps", "deployments", ["create", "patch", "delete"], .cluster),
            APIAccess("", "services", ["create", "patch", "delete"], .cluster),
        ]
    }

    /// `fsm controller --kubernetes`: the informers list and watch every kind the decoder reads,
    /// in every namespace (MeshConfig in its own); `ControllerSecrets` reads the mesh CA and the
    /// credential key and creates them when missing; `LeaseElector` gets, creates and replaces
    /// (`update`) its Lease.
    static let controllerAccess: [APIAccess] = {
        let watch = ["list", "watch"]
        let watched: [(String, String)] = [
            ("", "namespaces"), ("", "services"), ("", "serviceaccounts"), ("", "endpoints"), ("", "pods"),
            ("apps", "deployments"), ("apps", "statefulsets"),
            ("access.smi-spec.io", "traffictargets"), ("specs.smi-spec.io", "httproutegroups"), ("specs.smi-spec.io", "tcproutes"),
            ("split.smi-spec.io", "trafficsplits"), ("policy.flomesh.io", "upstreamtrafficsettings"), ("policy.flomesh.io", "retries"), ("policy.flomesh.io", "accesscontrols"),
            ("policy.flomesh.io", "egresses"), ("policy.flomesh.io", "accesscerts"), ("policy.flomesh.io", "egressgateways"),
        ]
        return watched.map { APIAccess($0.0, $0.1, watch, .cluster) } + [
            APIAccess("config.flomesh.io", "meshconfigs", watch, .controlPlaneNamespace),
            APIAccess("", "secrets", ["get"], .controlPlaneNamespace, names: [caSecretName, credentialSecretName]),
            APIAccess("", "secrets", ["create"], .controlPlaneNamespace),
            // AccessCerts: their Secrets, in any namespace (`KubeAccessCertStore`), and their status.
            APIAccess("", "secrets", ["get", "create", "patch", "delete"], .cluster),
            APIAccess("policy.flomesh.io", "accesscerts/status", ["patch"], .cluster),
            APIAccess("coordination.k8s.io", "leases", ["get", "update"], .controlPlaneNamespace, names: [leaseName]),
            APIAccess("coordination.k8s.io", "leases", ["create"], .controlPlaneNamespace),
        ]
    }()

    /// `fsm injector`: reads namespaces (the injection rule, F1-047) and the MeshConfig (exclusion
    /// lists, image, resources), reads the mesh CA and credential key, creates each injected pod's
    /// credential Secret in the pod's namespace, and sets its webhook configurations' `caBundle`.
    static func injectorAccess(meshName: String) -> [APIAccess] {
        let webhook = webhookConfigurationName(meshName: meshName)
        return [
            APIAccess("", "namespaces", ["get", "list", "watch"], .cluster),
            APIAccess("", "secrets", ["create"], .cluster),
            APIAccess("admissionregistration.k8s.io", "mutatingwebhookconfigurations", ["get", "patch"], .cluster, names: [webhook]),
            APIAccess("admissionregistration.k8s.io", "validatingwebhookconfigurations", ["get", "patch"], .cluster, names: [webhook]),
            APIAccess("config.flomesh.io", "meshconfigs", ["get", "list", "watch"], .controlPlaneNamespace),
            APIAccess("", "secrets", ["get"], .controlPlaneNamespace, names: [caSecretName, credentialSecretName]),
        ]
    }
}
