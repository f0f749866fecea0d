import MeshModel

/// What FSM's gateway controller keeps in a cluster, computed from the controller's gateway configs
/// and what the API holds (pure: the same inputs give the same actions; `KubeGatewayProvisioner`
/// performs them). Per namespace holding a Gateway of FSM's class, the oldest such Gateway (FSM
/// serves one Gateway per namespace) gets `fsm-gateway-<namespace>`: a Deployment running
/// `fsm gateway` for it, a LoadBalancer Service with its listeners' ports (TCP, or UDP for UDP
/// listeners), and the gateway's credential as a Secret; all three are owned by that Gateway, so
/// the API's garbage collector removes them with it. With the ingress on, `fsm-ingress` in the
/// control plane's namespace likewise serves the ingress config on port 80.
public struct GatewayProvisioningPlan: Sendable {
    /// Marks every object the plan owns: `<mesh name>`; only objects with it are updated or deleted.
    public static let provisionerLabel = "flomesh.io/gateway-provisioner"
    /// The Gateway (`namespace/name`) a workload serves, on its credential Secret.
    public static let gatewayAnnotation = "flomesh.io/gateway"
    /// A hash of the object as the plan renders it: a different one is applied again.
    public static let specHashAnnotation = "flomesh.io/spec-hash"
    /// The credential's key in its Secret, and where the pod mounts it.
    public static let credentialKey = "credential"
    public static let credentialMountPath = "/var/run/fsm-gateway"

    public struct Settings: Sendable, Equatable {
        public var meshName: String
        public var controlPlaneNamespace: String
        /// The image of every control-plane pod (the gateway is the same binary).
        public var image: String
        public var imagePullPolicy: String
        /// The controller's config API as the gateway pods reach it.
        public var controllerURL: String
        /// Deploy `fsm-ingress` (`fsm.fsmIngress.enabled`).
        public var ingress: Bool

        public init(meshName: String = "fsm", controlPlaneNamespace: String = "fsm-system", image: String, imagePullPolicy: String = "IfNotPresent",
                    controllerURL: String? = nil, ingress: Bool = false) {
            self.meshName = meshName
            self.controlPlaneNamespace = controlPlaneNamespace
            self.image = image
            self.imagePullPolicy = imagePullPolicy
            self.controllerURL = controllerURL ?? "http://fsm-controller.\(controlPlaneNamespace).svc:6060"
            self.ingress = ingress
        }
    }

    /// A Gateway object as the API holds it: what an ownerReference and the choice of the oldest need.
    public struct GatewayObject: Sendable, Equatable {
        public var key: KubeObjectKey
        public var uid: String
        /// `metadata.creationTimestamp` (RFC 3339, so that text order is time order).
        public var created: String

        public init(key: KubeObjectKey, uid: String, created: String) {
            self.key = key
            self.uid = uid
            self.created = created
        }

        public init(_ object: KubeObject) {
            self.init(key: object.key, uid: object.uid, created: object.metadata?["creationTimestamp"]?.stringValue ?? "")
        }
    }

    /// One listener port of a workload's Service.
    public struct Port: Sendable, Hashable {
        public var port: Int
        /// `TCP` or `UDP`.
        public var transport: String
    }

    /// One gateway pod's Deployment, Service and credential.
    public struct Workload: Sendable, Equatable {
        public var namespace: String
        /// `fsm-gateway-<namespace>` or `fsm-ingress`.
        public var name: String
        /// The gateway config it serves, `namespace/name`.
        public var gateway: String
        public var ports: [Port]
        /// The Gateway that owns its objects (none for the ingress).
        public var owner: GatewayObject?
    }

    public enum Action: Sendable, Equatable {
        /// Create or update the object (server-side apply).
        case apply(KubeResourceType, KubeObjectKey, JSONValue)
        case delete(KubeResourceType, KubeObjectKey)
        /// Mint a credential for `gateway` and write it as the Secret (the only action with a secret in it, made by the writer).
        case writeCredential(KubeObjectKey, gateway: String, owner: GatewayObject?)
    }

    public let settings: Settings

    public init(settings: Settings) {
        self.settings = settings
    }

    /// The label selector of every object the plan owns.
    public var ownedSelector: String { "\(Self.provisionerLabel)=\(settings.meshName)" }

    /// The name of a Gateway namespace's workload.
    public static func workloadName(namespace: String) -> String { "fsm-gateway-\(namespace)" }
    public static let ingressName = "fsm-ingress"

    /// One workload per namespace with a Gateway config: its oldest Gateway's (the API's objects
    /// say which; a Gateway the API no longer lists is skipped), and the ingress's when on.
    public func workloads(configs: [GatewayConfig], gateways: [GatewayObject]) -> [Workload] {
        let ingressGateway = "\(settings.controlPlaneNamespace)/\(Self.ingressName)"
        let byKey = Dictionary(gateways.map { ("\($0.key.namespace)/\($0.key.name)", $0) }) { a, _ in a }
        var oldest: [String: (GatewayObject, GatewayConfig)] = [:]
        for config in configs where config.gateway != ingressGateway {
            guard let object = byKey[config.gateway] else { continue }
            let namespace = object.key.namespace
            if let current = oldest[namespace], (current.0.created, current.0.key.name) <= (object.created, object.key.name) { continue }
            oldest[namespace] = (object, config)
        }
        var workloads = oldest.keys.sorted().map { namespace in
            let (object, config) = oldest[namespace]!
            return Workload(namespace: namespace, name: Self.workloadName(namespace: namespace), gateway: config.gateway, ports: Self.ports(config), owner: object)
        }
        if settings.ingress {
            workloads.append(Workload(namespace: settings.controlPlaneNamespace, name: Self.ingressName, gateway: ingressGateway,
                                      ports: [Port(port: 80, transport: "TCP")], owner: nil))
        }
        return workloads
    }

    /// The listener ports of a config, each once per transport, in port order.
    static func ports(_ config: GatewayConfig) -> [Port] {
        let ports = Set(config.listeners.map { Port(port: $0.port, transport: $0.protocol == .udp ? "UDP" : "TCP") })
        return ports.sorted { ($0.port, $0.transport) < ($1.port, $1.transport) }
    }

    /// The actions that make `existing` (the objects with `ownedSelector`, by type) what `workloads` need:
    /// objects whose rendering changed are applied again, missing ones created, others deleted; a
    /// credential is written when its Secret is missing or names another Gateway.
    public func plan(_ workloads: [Workload], existing: [KubeResourceType: [KubeObject]]) -> [Action] {
        var actions: [Action] = []
        var wanted: Set<String> = []
        for workload in workloads {
            let key = KubeObjectKey(namespace: workload.namespace, name: workload.name)
            for (type, object) in [(KubeResourceType.deployments, deployment(workload)), (.services, service(workload))] {
                wanted.insert("\(type) \(key)")
                let current = existing[type]?.first { $0.key == key }
                if current?.metadata?["annotations"]?[Self.specHashAnnotation]?.stringValue != object["metadata"]?["annotations"]?[Self.specHashAnnotation]?.stringValue {
                    actions.append(.apply(type, key, object))
                }
            }
            let secretKey = KubeObjectKey(namespace: workload.namespace, name: Self.credentialSecretName(workload.name))
            wanted.insert("\(KubeResourceType.secrets) \(secretKey)")
            let secret = existing[.secrets]?.first { $0.key == secretKey }
            if secret?.metadata?["annotations"]?[Self.gatewayAnnotation]?.stringValue != workload.gateway {
                actions.append(.writeCredential(secretKey, gateway: workload.gateway, owner: workload.owner))
            }
        }
        for type in [KubeResourceType.deployments, .services, .secrets] {
            for object in (existing[type] ?? []).sorted(by: { $0.key < $1.key }) where !wanted.contains("\(type) \(object.key)") {
                actions.append(.delete(type, object.key))
            }
        }
        return actions
    }

    /// `fsm-gateway-<namespace>-credential`.
    public static func credentialSecretName(_ workload: String) -> String { "\(workload)-credential" }
}
