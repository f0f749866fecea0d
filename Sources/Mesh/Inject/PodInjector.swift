import MeshControl
import MeshIdentity
import MeshModel
import MeshRedirect

/// The Secret that carries a pod's bootstrap credential to its sidecar (and only to it: the
/// volume is mounted into the sidecar container alone).
public struct CredentialSecret: Hashable, Sendable {
    public static let namePrefix = "fsm-sidecar-credential-"
    /// The Secret's data key, and the file name in the sidecar's mount.
    public static let dataKey = "credential"

    public var namespace: String
    public var name: String
    public var proxyUUID: String
    public var token: String

    /// The `v1` Secret to create (the credential base64-encoded in `data`).
    public var manifest: JSONValue {
        .object([
            ("apiVersion", .string("v1")),
            ("kind", .string("Secret")),
            ("metadata", .object([
                ("name", .string(name)),
                ("namespace", .string(namespace)),
                ("labels", .object([("app.kubernetes.io/name", .string("flomesh.io")), (CredentialSubject.proxyUUIDLabel, .string(proxyUUID))])),
            ])),
            ("type", .string("Opaque")),
            ("data", .object([(Self.dataKey, .string(Base64.encode(Array(token.utf8))))])),
        ])
    }
}

/// Everything one injection does: the pod's patch, the Secret to create first, what the sidecar
/// will serve for the probes, and warnings for the user.
public struct InjectionPlan: Hashable, Sendable {
    public var patch: JSONPatch
    public var secret: CredentialSecret
    public var probes: [SidecarProbe]
    public var warnings: [String]
}

/// What the webhook does with one pod.
public enum InjectionOutcome: Hashable, Sendable {
    /// Admit it unchanged: the rule says no sidecar.
    case skipped(InjectionRule.Decision)
    /// Refuse it: something the user wrote cannot be honoured (the message says what).
    case refused(String)
    case inject(InjectionPlan)
}

/// Builds the injection of one pod (pure: the proxy uuid comes from the caller, the credential is
/// minted with the controller's credential key).
public struct PodInjector: Sendable {
    public static let credentialVolume = "fsm-sidecar-credential"
    public static let credentialMountPath = "/etc/fsm-sidecar"
    public static let initContainerName = "fsm-init"
    public static let sidecarContainerName = "sidecar"
    public static let metricsAnnotation = "flomesh.io/metrics"

    public let settings: InjectorSettings
    public let credentials: CredentialAuthority

    public init(settings: InjectorSettings, credentials: CredentialAuthority) {
        self.settings = settings
        self.credentials = credentials
    }

    /// The injection of `pod` (the request's object) created in `namespace`.
    public func inject(pod: JSONValue, namespace: String, namespaceObject: Namespace?, meshConfig: MeshConfig, proxyUUID: String) -> InjectionOutcome {
        let view: PodView
        switch PodView.read(pod) {
        case .success(let read): view = read
        case .failure(let problem): return .refused("the pod cannot be injected: \(problem.text)")
        }
        let decision = settings.rule.decide(namespace: namespaceObject, podAnnotations: view.annotations, hostNetwork: view.hostNetwork)
        if case .invalidAnnotation = decision { return .refused("\(decision)") }
        guard decision.injects else { return .skipped(decision) }
        let redirect: RedirectSettings
        do {
            redirect = try RedirectSettings(meshConfig: meshConfig, podAnnotations: view.annotations)
        } catch {
            return .refused("the pod's traffic capture settings are invalid: \(error)")
        }
        let secret: CredentialSecret
        do {
            let credential = try credentials.mint(.proxy(namespace: namespace, uuid: proxyUUID), instance: Array(proxyUUID.utf8))
            secret = CredentialSecret(namespace: namespace, name: CredentialSecret.namePrefix + proxyUUID, proxyUUID: proxyUUID, token: credential.token)
        } catch {
            return .refused("cannot mint the sidecar's credential: \(error)")
        }
        if let volume = view.credentialVolumeIndex {
            // A copy of an injected pod (`kubectl debug`): same sidecar, a credential of its own.
            return .inject(InjectionPlan(patch: rekey(view, volume: volume, secret: secret), secret: secret, probes: [], warnings: []))
        }
        return .inject(plan(view, namespaceObject: namespaceObject, meshConfig: meshConfig, redirect: redirect, secret: secret))
    }

    private func plan(_ view: PodView, namespaceObject: Namespace?, meshConfig: MeshConfig, redirect: RedirectSettings, secret: CredentialSecret) -> InjectionPlan {
        var operations: [JSONPatchOperation] = []
        var warnings: [String] = []
        let (probeOperations, probes) = rewriteProbes(view, warnings: &warnings)
        var annotations: [(String, JSONValue)] = []
        if namespaceObject?.metadata.annotations[Self.metricsAnnotation] == "enabled" {
            annotations = [("prometheus.io/scrape", .string("true")), ("prometheus.io/port", .string("15010")), ("prometheus.io/path", .string("/stats/prometheus"))]
        }
        operations += Self.mapAdditions(at: JSONPointer("metadata", "labels"), existing: view.object["metadata"]?["labels"],
                                        [(CredentialSubject.proxyUUIDLabel, .string(secret.proxyUUID))])
        operations += Self.mapAdditions(at: JSONPointer("metadata", "annotations"), existing: view.object["metadata"]?["annotations"], annotations)
        operations += probeOperations
        // Under eBPF interception the node's `fsm interceptor` captures the pod: no init container.
        if meshConfig.traffic.interceptionMode == .iptables {
            operations += Self.arrayAdditions(at: JSONPointer("spec", "initContainers"), existing: view.object["spec"]?["initContainers"],
                                              [initContainer(meshConfig: meshConfig, redirect: redirect)])
        }
        operations += Self.arrayAdditions(at: JSONPointer("spec", "containers"), existing: view.object["spec"]?["containers"],
                                          [sidecarContainer(view, meshConfig: meshConfig, probes: probes)])
        operations += Self.arrayAdditions(at: JSONPointer("spec", "volumes"), existing: view.object["spec"]?["volumes"], [Self.credentialVolume(secret)])
        return InjectionPlan(patch: JSONPatch(operations), secret: secret, probes: probes, warnings: warnings)
    }

    /// Each container's probes rewritten; 15901-15903 serve one HTTP(S) probe of each kind, so a
    /// second container's probe of a kind already served stays as it is, with a warning.
    private func rewriteProbes(_ view: PodView, warnings: inout [String]) -> ([JSONPatchOperation], [SidecarProbe]) {
        var operations: [JSONPatchOperation] = []
        var probes: [SidecarProbe] = []
        for (index, container) in view.containers.enumerated() {
            let name = container["name"]?.stringValue ?? "#\(index)"
            for kind in SidecarProbe.Kind.allCases {
                switch ProbeRewrite.rewrite(kind, in: container) {
                case .unchanged:
                    break
                case .skipped(let why):
                    warnings.append("fsm: the \(kind.rawValue) probe of container \(name) is not rewritten: \(why); it will not pass through the sidecar")
                case .rewritten(let probe, let target):
                    if target.servedPort != SidecarProbe.healthcheckPort, probes.contains(where: { $0.servedPort == target.servedPort }) {
                        warnings.append("fsm: the \(kind.rawValue) probe of container \(name) is not rewritten: port \(kind.port) already serves another container's; it will not pass through the sidecar")
                        continue
                    }
                    probes.append(target)
                    operations.append(.replace(JSONPointer("spec", "containers").appending(index).appending(kind.fieldName), probe))
                }
            }
        }
        return (operations, probes)
    }

    /// For a pod that already carries an injection: a new uuid label and the new Secret.
    private func rekey(_ view: PodView, volume: Int, secret: CredentialSecret) -> JSONPatch {
        var operations = Self.mapAdditions(at: JSONPointer("metadata", "labels"), existing: view.object["metadata"]?["labels"],
                                           [(CredentialSubject.proxyUUIDLabel, .string(secret.proxyUUID))])
        operations.append(.replace(JSONPointer("spec", "volumes").appending(volume), Self.credentialVolume(secret)))
        return JSONPatch(operations)
    }

    static func credentialVolume(_ secret: CredentialSecret) -> JSONValue {
        // 0444: the file is readable by the sidecar's uid 1500; only the sidecar container mounts it.
        .object([("name", .string(credentialVolume)), ("secret", .object([("defaultMode", .int(0o444)), ("secretName", .string(secret.name))]))])
    }

    /// `add` of each pair under an existing object, or of the whole object when there is none.
    static func mapAdditions(at path: JSONPointer, existing: JSONValue?, _ pairs: [(String, JSONValue)]) -> [JSONPatchOperation] {
        guard !pairs.isEmpty else { return [] }
        guard case .object = existing else { return [.add(path, .object(pairs))] }
        return pairs.map { .add(path.appending($0.0), $0.1) }
    }

    /// `add` of each item at the end of an existing array, or of the whole array when there is none.
    static func arrayAdditions(at path: JSONPointer, existing: JSONValue?, _ items: [JSONValue]) -> [JSONPatchOperation] {
        guard case .array = existing else { return [.add(path, .array(items))] }
        return items.map { .add(path.appending("-"), $0) }
    }
}

/// The parts of a pod's JSON the injector reads.
struct PodView {
    var object: JSONValue
    var annotations: [String: String]
    var hostNetwork: Bool
    var containers: [JSONValue]
    var credentialVolumeIndex: Int?

    struct Problem: Error {
        var text: String
    }

    static func read(_ object: JSONValue) -> Result<PodView, Problem> {
        guard case .object = object else { return .failure(Problem(text: "expected a Pod object")) }
        var annotations: [String: String] = [:]
        if let value = object["metadata"]?["annotations"], value != .null {
            guard let map = value.stringMap else { return .failure(Problem(text: "metadata.annotations: expected string values")) }
            annotations = map
        }
        if let labels = object["metadata"]?["labels"], labels != .null, labels.stringMap == nil {
            return .failure(Problem(text: "metadata.labels: expected string values"))
        }
        guard let spec = object["spec"], case .object = spec else { return .failure(Problem(text: "spec: expected an object")) }
        guard let containers = spec["containers"]?.arrayItems, !containers.isEmpty else {
            return .failure(Problem(text: "spec.containers: expected at least one container"))
        }
        var hostNetwork = false
        switch spec["hostNetwork"] {
        case .bool(let value)?: hostNetwork = value
        case nil, .null?: break
        default: return .failure(Problem(text: "spec.hostNetwork: expected a boolean"))
        }
        let volumes = spec["volumes"]?.arrayItems ?? []
        let volume = volumes.firstIndex { $0["name"]?.stringValue == PodInjector.credentialVolume }
        return .success(PodView(object: object, annotations: annotations, hostNetwork: hostNetwork, containers: containers, credentialVolumeIndex: volume))
    }

    /// The controlling owner as metric labels: a ReplicaSet `name-<hash>` counts as Deployment `name`
    /// (as FSM and its Prometheus config do).
    var workload: (kind: String, name: String)? {
        let owners = object["metadata"]?["ownerReferences"]?.arrayItems ?? []
        guard let owner = owners.first(where: { $0["controller"] == .bool(true) }),
              var kind = owner["kind"]?.stringValue, var name = owner["name"]?.stringValue else { return nil }
        if kind == "ReplicaSet", let dash = name.lastIndex(of: "-") {
            kind = "Deployment"
            name = String(name[..<dash])
        }
        return (kind, name)
    }
}
