import MeshControl
import MeshKube
import MeshModel

/// The synthetic cluster as an API server serves it (`bench kube`): the same resources as
/// `resources()`, written as Kubernetes JSON objects.
extension ClusterGenerator {
    func apiObjects() -> [(KubeResourceType, JSONValue)] {
        resources().compactMap { change in
            guard case .upsert(let resource) = change else { return nil }
            return Self.apiObject(resource)
        }
    }

    static func apiObject(_ resource: Resource) -> (KubeResourceType, JSONValue)? {
        switch resource {
        case .namespace(let ns): return (.namespaces, object("v1", "Namespace", ns.metadata, []))
        case .serviceAccount(let account): return (.serviceAccounts, object("v1", "ServiceAccount", account.metadata, []))
        case .service(let service):
            let ports: [JSONValue] = service.ports.map { port in
                .object([("name", .string(port.name ?? "http")), ("port", .int(port.port)), ("protocol", .string("TCP")),
                         ("targetPort", port.targetPort.map { if case .int(let n) = $0 { .int(n) } else if case .string(let s) = $0 { .string(s) } else { .null } } ?? .int(port.port))])
            }
            return (.services, object("v1", "Service", service.metadata, [("spec", .object([
                ("clusterIP", .string(service.clusterIP ?? "")), ("selector", labels(service.selector)), ("ports", .array(ports)),
            ]))]))
        case .pod(let pod):
            let containers: [JSONValue] = pod.spec.containers.map { container in
                .object([("name", .string(container.name)), ("image", .string("app:1")),
                         ("ports", .array(container.ports.map { .object([("name", .string($0.name ?? "")), ("containerPort", .int($0.containerPort))]) }))])
            }
            return (.pods, object("v1", "Pod", pod.metadata, [
                ("spec", .object([("serviceAccountName", .string(pod.spec.serviceAccountName)), ("containers", .array(containers))])),
                ("status", .object([("phase", .string("Running")), ("podIP", .string(pod.podIP ?? ""))])),
            ]))
        case .trafficTarget(let target):
            let reference = { (r: IdentityReference) -> JSONValue in .object([("kind", .string(r.kind)), ("name", .string(r.name)), ("namespace", .string(r.namespace))]) }
            return (.trafficTargets, object("access.smi-spec.io/v1alpha3", "TrafficTarget", target.metadata, [("spec", .object([
                ("destination", reference(target.destination)),
                ("rules", .array(target.rules.map { .object([("kind", .string($0.kind)), ("name", .string($0.name))]) })),
                ("sources", .array(target.sources.map(reference))),
            ]))]))
        case .httpRouteGroup(let group):
            let matches: [JSONValue] = group.matches.map { match in
                var pairs: [(String, JSONValue)] = [("name", .string(match.name)), ("methods", .array(match.methods.map(JSONValue.string)))]
                if let regex = match.pathRegex { pairs.append(("pathRegex", .string(regex))) }
                if !match.headers.isEmpty { pairs.append(("headers", labels(match.headers))) }
                return .object(pairs)
            }
            return (.httpRouteGroups, object("specs.smi-spec.io/v1alpha4", "HTTPRouteGroup", group.metadata, [("spec", .object([("matches", .array(matches))]))]))
        case .trafficSplit(let split):
            return (.trafficSplits, object("split.smi-spec.io/v1alpha2", "TrafficSplit", split.metadata, [("spec", .object([
                ("service", .string(split.service)),
                ("backends", .array(split.backends.map { .object([("service", .string($0.service)), ("weight", .int($0.weight))]) })),
            ]))]))
        case .meshConfig(let config):
            var metadata = config.metadata
            if metadata.name.isEmpty { metadata = ObjectMeta(name: "fsm-mesh-config", namespace: "fsm-system") }
            return (.meshConfigs, object("config.flomesh.io/v1alpha1", "MeshConfig", metadata, [("spec", .object([
                ("traffic", .object([("enablePermissiveTrafficPolicyMode", .bool(config.traffic.enablePermissiveTrafficPolicyMode))])),
            ]))]))
        default:
            return nil
        }
    }

    private static func object(_ apiVersion: String, _ kind: String, _ metadata: ObjectMeta, _ rest: [(String, JSONValue)]) -> JSONValue {
        var meta: [(String, JSONValue)] = [("name", .string(metadata.name))]
        if !metadata.namespace.isEmpty { meta.append(("namespace", .string(metadata.namespace))) }
        if !metadata.labels.isEmpty { meta.append(("labels", labels(metadata.labels))) }
        if !metadata.annotations.isEmpty { meta.append(("annotations", labels(metadata.annotations))) }
        return .object([("apiVersion", .string(apiVersion)), ("kind", .string(kind)), ("metadata", .object(meta))] + rest)
    }

    private static func labels(_ map: [String: String]) -> JSONValue {
        .object(map.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }
}
