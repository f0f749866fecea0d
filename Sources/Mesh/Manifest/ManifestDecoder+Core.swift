import MeshModel

/// Kubernetes core kinds: Service, Endpoints, Pod, Deployment and StatefulSet. Fields the mesh does
/// not model (probes, volumes, resources, ...) are accepted (`FieldSchema`) and ignored, as they
/// are irrelevant to routing.
extension ManifestDecoder {
    static let transportProtocols = ["TCP", "UDP", "SCTP"]

    static func service(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> Service {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        try validateServiceName(metadata.name, at: try document.required("metadata").required("name"))
        let spec = try document.required("spec")
        let clusterIP = try spec.optionalString("clusterIP")
        var ports: [ServicePort] = []
        let portNodes = try spec.optional("ports")?.elements() ?? []
        if portNodes.isEmpty && clusterIP != "None" {
            throw ManifestError(at: spec.location, path: spec.path.isEmpty ? "ports" : spec.path + ".ports",
                                message: "missing required field \"ports\": a Service needs at least one port unless it is headless (clusterIP: None)")
        }
        for node in portNodes {
            let name = try node.optionalString("name")
            if name == nil && portNodes.count > 1 {
                throw ManifestError(at: node.location, path: node.path + ".name", message: "missing required field \"name\": every port of a multi-port Service needs a name")
            }
            if let name, ports.contains(where: { $0.name == name }) {
                throw try node.required("name").error("duplicate port name \(YAMLReader.quoted(name))")
            }
            let port = try node.required("port").int(in: portRange)
            let appProtocol: AppProtocol
            if let explicit = try node.optional("appProtocol") {
                appProtocol = try explicit.oneOf(AppProtocol.self, caseInsensitive: true)
            } else {
                appProtocol = appProtocolFromPortName(name)
            }
            ports.append(ServicePort(
                name: name,
                port: port,
                targetPort: try node.optional("targetPort")?.intOrString(intRange: portRange),
                transportProtocol: try node.optional("protocol")?.oneOf(transportProtocols) ?? "TCP",
                appProtocol: appProtocol
            ))
        }
        return Service(metadata: metadata, ports: ports, selector: try labels(spec.optional("selector")), clusterIP: clusterIP)
    }

    /// FSM (like OSM) falls back on the port name's prefix when `appProtocol` is unset:
    /// `tcp-8078` is TCP, `tcp-server-first-smtp` TCP server-first (the longer prefix first),
    /// `grpc-8079` is gRPC, anything else HTTP (DECISIONS 10).
    static func appProtocolFromPortName(_ name: String?) -> AppProtocol {
        guard let name = name?.lowercased() else { return .http }
        if name.hasPrefix("tcp-server-first-") { return .tcpServerFirst }
        if name.hasPrefix("tcp-") { return .tcp }
        if name.hasPrefix("grpc-") { return .grpc }
        return .http
    }

    static func endpoints(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> Endpoints {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        var subsets: [EndpointSubset] = []
        for subsetNode in try document.optional("subsets")?.elements() ?? [] {
            var subset = EndpointSubset()
            for addressNode in try subsetNode.optional("addresses")?.elements() ?? [] {
                let ip = try addressNode.string("ip")
                var podName: String?
                if let ref = try addressNode.optional("targetRef"), try ref.optionalString("kind") == "Pod" {
                    let namespace = try ref.optionalString("namespace") ?? metadata.namespace
                    podName = "\(namespace)/\(try ref.string("name"))"
                }
                subset.addresses.append(EndpointAddress(ip: ip, podName: podName))
            }
            for portNode in try subsetNode.optional("ports")?.elements() ?? [] {
                subset.ports.append(EndpointPort(name: try portNode.optionalString("name"), port: try portNode.required("port").int(in: portRange)))
            }
            subsets.append(subset)
        }
        return Endpoints(metadata: metadata, subsets: subsets)
    }

    static func pod(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> Pod {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try podSpec(try document.required("spec"))
        let status = try document.optional("status")
        return Pod(metadata: metadata, spec: spec, podIP: try status?.optionalString("podIP"), conditions: try podConditions(status))
    }

    /// `status.conditions`: each with `type` and `status` (True, False or Unknown); other fields
    /// (reason, message, times) are accepted and not kept.
    static func podConditions(_ status: YAMLReader?) throws(ManifestError) -> [PodCondition] {
        var conditions: [PodCondition] = []
        for node in try status?.optional("conditions")?.elements() ?? [] {
            guard node.isMapping else { throw node.typeMismatch(expected: .mapping) }
            let type = try node.string("type")
            let value = try node.required("status").oneOf(PodCondition.Status.self)
            conditions.append(PodCondition(type: type, status: value))
        }
        return conditions
    }

    static func workload(_ document: YAMLReader, kind: Workload.Kind, defaultNamespace: String) throws(ManifestError) -> Workload {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        let replicas = try spec.optional("replicas")?.int(in: 0...ManifestLimits.maxReplicas, limit: "the limit of replicas per workload") ?? 1
        let selectorNode = try spec.required("selector").required("matchLabels")
        let selector = try labels(selectorNode)
        if selector.isEmpty { throw selectorNode.error("must select at least one label") }
        let templateNode = try spec.required("template")
        let template = PodTemplate(metadata: try templateMetadata(templateNode), spec: try podSpec(try templateNode.required("spec")))
        // Kubernetes rejects a selector that would not select the pods the template creates.
        for (key, value) in selector.sorted(by: { $0.key < $1.key }) where template.metadata.labels[key] != value {
            throw selectorNode.error("selector does not match template labels: the template has no label \(key)=\(value)")
        }
        return Workload(kind: kind, metadata: metadata, replicas: replicas, selector: selector, template: template)
    }

    static func podSpec(_ spec: YAMLReader) throws(ManifestError) -> PodSpec {
        // `serviceAccount` is the deprecated spelling Kubernetes still honours.
        var serviceAccount = try spec.optionalString("serviceAccountName")
        if serviceAccount == nil { serviceAccount = try spec.optionalString("serviceAccount") }
        var containers: [Container] = []
        for node in try nonEmptyElements(spec, "containers") {
            let nameNode = try node.required("name")
            let name = try nameNode.string()
            if containers.contains(where: { $0.name == name }) { throw nameNode.error("duplicate container name \(YAMLReader.quoted(name))") }
            var ports: [ContainerPort] = []
            for portNode in try node.optional("ports")?.elements() ?? [] {
                ports.append(ContainerPort(
                    name: try portNode.optionalString("name"),
                    containerPort: try portNode.required("containerPort").int(in: portRange),
                    transportProtocol: try portNode.optional("protocol")?.oneOf(transportProtocols) ?? "TCP"
                ))
            }
            var env: [EnvVar] = []
            for envNode in try node.optional("env")?.elements() ?? [] {
                // `valueFrom` (field or secret references) has no value the mesh can know: empty.
                env.append(EnvVar(name: try envNode.string("name"), value: try envNode.optionalString("value") ?? ""))
            }
            containers.append(Container(
                name: name,
                image: try node.string("image"),
                command: try node.optional("command")?.stringList() ?? [],
                args: try node.optional("args")?.stringList() ?? [],
                ports: ports,
                env: env
            ))
        }
        return PodSpec(serviceAccountName: serviceAccount ?? "default", containers: containers, hostNetwork: try spec.optional("hostNetwork")?.bool() ?? false)
    }
}
