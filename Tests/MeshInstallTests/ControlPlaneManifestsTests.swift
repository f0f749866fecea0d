import Foundation
import MeshInstall
import MeshManifest
import MeshModel
import Testing

/// The documents `fsm install` renders: what they hold, that `--set` lands in the MeshConfig, and
/// that deploy/fsm.yaml is exactly the default rendering.
@Suite struct ControlPlaneManifestsTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func document(_ documents: [JSONValue], kind: String, name: String) throws -> JSONValue {
        try #require(documents.first { $0["kind"] == .string(kind) && $0["metadata"]?["name"] == .string(name) }, "no \(kind) \(name)")
    }

    @Test func deployFileIsTheDefaultRendering() throws {
        let committed = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("deploy/fsm.yaml"), encoding: .utf8)
        #expect(committed == ControlPlaneManifests().yaml(), "deploy/fsm.yaml is stale: regenerate it with `fsm install --dry-run > deploy/fsm.yaml`")
    }

    @Test func renderingIsStableAndReadsBackAsTheSameDocuments() throws {
        let manifests = ControlPlaneManifests()
        let yaml = manifests.yaml()
        #expect(yaml == ControlPlaneManifests().yaml())
        let read = try YAMLReader.documents(text: yaml, file: "fsm.yaml").filter { !$0.isNull }
        #expect(read.count == manifests.documents().count)
        for (reader, document) in zip(read, manifests.documents()) {
            #expect(try YAMLToJSON.convert(reader) == document)
        }
    }

    @Test func setOverridesLandInTheMeshConfig() throws {
        var values = InstallValues()
        try values.set("fsm.enablePermissiveTrafficPolicy=true,fsm.enableEgress=true,fsm.sidecarLogLevel=debug")
        try values.set("fsm.outboundIPRangeExclusionList={10.0.0.1/32},fsm.inboundPortExclusionList=[6379]")
        let documents = ControlPlaneManifests(meshName: "mesh-a", namespace: "mesh-system", values: values).documents()
        let config = try document(documents, kind: "MeshConfig", name: "fsm-mesh-config")
        #expect(config["metadata"]?["namespace"] == .string("mesh-system"))
        let spec = try #require(config["spec"])
        #expect(spec["traffic"]?["enablePermissiveTrafficPolicyMode"] == .bool(true))
        #expect(spec["traffic"]?["enableEgress"] == .bool(true))
        #expect(spec["traffic"]?["outboundIPRangeExclusionList"] == .array([.string("10.0.0.1/32")]))
        #expect(spec["traffic"]?["inboundPortExclusionList"] == .array([.int(6379)]))
        #expect(spec["sidecar"]?["logLevel"] == .string("debug"))
        #expect(spec["observability"]?["tracing"]?["address"] == .string("jaeger.mesh-system.svc.cluster.local"))
        // The MeshConfig the install writes is one the controller reads.
        let decoded = try ManifestDecoder.decode(config.renderedYAML(), file: "meshconfig.yaml")
        guard case .meshConfig(let meshConfig)? = decoded.first?.resource else { Issue.record("not a MeshConfig"); return }
        #expect(meshConfig.traffic.enablePermissiveTrafficPolicyMode)
        #expect(meshConfig.sidecar.logLevel == "debug")
    }

    @Test func everyResourceCarriesTheMeshLabels() throws {
        let documents = ControlPlaneManifests(meshName: "mesh-a").documents()
        for document in documents {
            let labels = try #require(document["metadata"]?["labels"])
            #expect(labels["app.kubernetes.io/name"] == .string("flomesh.io"))
            #expect(labels["app.kubernetes.io/version"] == .string(MeshVersion.current))
            if document["kind"] != .string("CustomResourceDefinition") {
                #expect(labels["app.kubernetes.io/instance"] == .string("mesh-a"), "\(document["kind"]!.rendered()) \(document["metadata"]!["name"]!.rendered())")
            }
        }
    }

    @Test func deploymentsAreRestrictedAndProbed() throws {
        let documents = ControlPlaneManifests().documents()
        for name in ["fsm-controller", "fsm-injector"] {
            let deployment = try document(documents, kind: "Deployment", name: name)
            let pod = try #require(deployment["spec"]?["template"]?["spec"])
            #expect(pod["securityContext"]?["runAsNonRoot"] == .bool(true))
            #expect(pod["securityContext"]?["seccompProfile"]?["type"] == .string("RuntimeDefault"))
            #expect(pod["serviceAccountName"] == .string(name))
            guard case .array(let containers)? = pod["containers"], let container = containers.first else { Issue.record("no container"); continue }
            let context = try #require(container["securityContext"])
            #expect(context["readOnlyRootFilesystem"] == .bool(true))
            #expect(context["allowPrivilegeEscalation"] == .bool(false))
            #expect(context["capabilities"]?["drop"] == .array([.string("ALL")]))
            #expect(container["livenessProbe"] != nil && container["readinessProbe"] != nil)
            #expect(container["resources"]?["limits"]?["memory"] != nil)
        }
        let controller = try document(documents, kind: "Deployment", name: "fsm-controller")
        let container = controller["spec"]?["template"]?["spec"]?["containers"].flatMap { if case .array(let c) = $0 { c.first } else { nil } }
        #expect(container?["livenessProbe"]?["httpGet"]?["path"] == .string("/health/alive"))
        #expect(container?["readinessProbe"]?["httpGet"]?["path"] == .string("/health/ready"))
        #expect(container?["readinessProbe"]?["httpGet"]?["port"] == .int(9091))
    }

    /// `--set fsm.trafficInterceptionMode=ebpf` adds the interceptor DaemonSet (F1-063), and only then.
    @Test func eBPFInterceptionRendersTheInterceptorDaemonSet() throws {
        #expect(!ControlPlaneManifests().documents().contains { $0["kind"] == .string("DaemonSet") })
        var values = InstallValues()
        try values.set("fsm.trafficInterceptionMode=ebpf,fsm.fsmInterceptor.debug=true")
        let documents = ControlPlaneManifests(meshName: "m1", namespace: "cp", values: values).documents()
        #expect(try document(documents, kind: "MeshConfig", name: "fsm-mesh-config")["spec"]?["traffic"]?["interceptionMode"] == .string("ebpf"))
        let account = try document(documents, kind: "ServiceAccount", name: "fsm-interceptor")
        #expect(account["automountServiceAccountToken"] == .bool(false))
        let daemonSet = try document(documents, kind: "DaemonSet", name: "fsm-interceptor")
        #expect(daemonSet["metadata"]?["namespace"] == .string("cp"))
        let pod = try #require(daemonSet["spec"]?["template"]?["spec"])
        #expect(daemonSet["spec"]?["template"]?["metadata"]?["labels"]?["app"] == .string("fsm-interceptor"))
        #expect(pod["hostNetwork"] == .bool(true) && pod["hostPID"] == .bool(true))
        #expect(pod["tolerations"] == .array([.object([("operator", .string("Exists"))])]))
        guard case .array(let containers)? = pod["containers"], let container = containers.first else { Issue.record("no container"); return }
        #expect(container["args"] == .array(["interceptor", "--pods-dir", "/var/run/fsm-interceptor/pods", "--pin-dir", "/sys/fs/bpf/m1",
                                             "--log-level", "debug"].map { .string($0) }))
        #expect(container["securityContext"]?["capabilities"]?["add"] == .array(["BPF", "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"].map { .string($0) }))
        #expect(container["securityContext"]?["privileged"] == nil)
        guard case .array(let mounts)? = container["volumeMounts"] else { Issue.record("no mounts"); return }
        #expect(mounts.compactMap { $0["mountPath"] } == ["/sys/fs/bpf", "/sys/fs/cgroup", "/var/run/netns", "/var/run/fsm-interceptor", "/run/fsm-interceptor"].map { .string($0) })
        // The DaemonSet's rendering reads back as the same documents.
        let yaml = ControlPlaneManifests(meshName: "m1", namespace: "cp", values: values).yaml()
        let read = try YAMLReader.documents(text: yaml, file: "fsm.yaml").filter { !$0.isNull }
        #expect(try read.map(YAMLToJSON.convert) == documents)
    }

    @Test func webhooksPointAtTheInjectorAndSkipTheControlPlane() throws {
        let documents = ControlPlaneManifests(meshName: "m1", namespace: "cp").documents()
        let mutating = try document(documents, kind: "MutatingWebhookConfiguration", name: "fsm-webhook-config-m1")
        guard case .array(let hooks)? = mutating["webhooks"], let hook = hooks.first else { Issue.record("no webhook"); return }
        #expect(hook["clientConfig"]?["service"]?["name"] == .string("fsm-injector"))
        #expect(hook["clientConfig"]?["service"]?["namespace"] == .string("cp"))
        #expect(hook["clientConfig"]?["service"]?["path"] == .string("/mutate-pod-creation"))
        #expect(hook["clientConfig"]?["caBundle"] == nil)
        #expect(hook["namespaceSelector"]?["matchLabels"]?["flomesh.io/monitored-by"] == .string("m1"))
        #expect(hook["failurePolicy"] == .string("Fail"))
        let namespace = try document(documents, kind: "Namespace", name: "cp")
        #expect(namespace["metadata"]?["labels"]?["name"] == .string("cp"))
        _ = try document(documents, kind: "ValidatingWebhookConfiguration", name: "fsm-webhook-config-m1")
        let service = try document(documents, kind: "Service", name: "fsm-injector")
        #expect(service["spec"]?["ports"] == .array([.object([("name", .string("webhook")), ("port", .int(443)), ("targetPort", .int(9090)), ("protocol", .string("TCP"))])]))
    }
}

/// A YAML node as the JSON value it stands for (strings stay strings, ints ints).
enum YAMLToJSON {
    static func convert(_ node: YAMLReader) throws -> JSONValue {
        if node.isMapping { return .object(try node.entries().map { ($0.key, try convert($0.value)) }) }
        if node.isSequence { return .array(try node.elements().map(convert)) }
        if node.isNull { return .null }
        switch node.valueType {
        case .boolean: return .bool(try node.bool())
        case .integer: return .int(try node.int())
        case .number: return .double(try node.double())
        default: return .string(try node.scalarText())
        }
    }
}
