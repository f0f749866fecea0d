import Foundation
import MeshControl
import MeshIdentity
import MeshInject
import MeshManifest
import MeshModel
import MeshRedirect
import Testing

/// The webhook's patches applied to the pods they were made for (as the API server applies an
/// RFC 6902 patch) give pods that decode again, with the sidecar and init container the guide
/// describes, the probes rewritten by its table, and the rest of the pod as it was.
@Suite struct PatchedPodTests {
    static func patched(_ name: String) throws -> (before: JSONValue, after: JSONValue) {
        let request = try JSONValue(parsing: GoldenAdmissionTests.read("\(name).request.json"))
        let response = try JSONValue(parsing: GoldenAdmissionTests.answer(name).answer.body)
        let patchJSON = try #require(try GoldenAdmissionTests.patch(in: response))
        let before = try #require(request["request"]?["object"])
        let after = try JSONPatch(operations(patchJSON)).apply(to: before)
        return (before, after)
    }

    /// The patch as operations again (op, path, value).
    static func operations(_ json: JSONValue) throws -> [JSONPatchOperation] {
        guard case .array(let items) = json else { throw PatchReadError() }
        return try items.map { item in
            guard case .string(let op)? = item["op"], let kind = JSONPatchOperation.Op(rawValue: op),
                  case .string(let path)? = item["path"], let pointer = JSONPointer(parsing: path) else { throw PatchReadError() }
            return JSONPatchOperation(op: kind, path: pointer, value: item["value"])
        }
    }

    struct PatchReadError: Error {}

    static func container(_ pod: JSONValue, named name: String) -> JSONValue? {
        pod["spec"]?["containers"]?.arrayItemsForTest?.first { $0["name"] == .string(name) }
    }

    @Test(arguments: ["plain", "http-probes", "tcp-probes", "https-probe", "exclusions", "two-containers"])
    func thePatchedPodDecodesAndIsMeshed(_ name: String) throws {
        var (_, after) = try Self.patched(name)
        // The API server names a pod from its generateName after the webhooks ran.
        if after["metadata"]?["name"] == nil, case .string(let prefix)? = after["metadata"]?["generateName"] {
            after = after.replacingForTest(["metadata", "name"], with: .string(prefix + "x2k4q"))
        }
        // Through JSON text, as the API server stores it, and back through the manifest decoder.
        let decoded = try ManifestDecoder.decode(after.rendered(pretty: true), file: "\(name).patched.json")
        guard case .pod(let pod) = try #require(decoded.first).resource else { Issue.record("not a pod"); return }
        #expect(pod.spec.containers.map(\.name).last == "sidecar")
        #expect(pod.metadata.labels["fsm-proxy-uuid"] == GoldenAdmissionTests.uuid(name))
        let namespace = try GoldenAdmissionTests.cluster().namespace(named: pod.metadata.namespace.isEmpty ? "bookstore" : pod.metadata.namespace)
        #expect(InjectionRule(meshName: "fsm", controlPlaneNamespace: "fsm-system").decide(pod, namespace: namespace) == .inject)

        let initContainers = after["spec"]?["initContainers"]?.arrayItemsForTest ?? []
        #expect(initContainers.last?["name"] == .string("fsm-init"))
        #expect(initContainers.last?["securityContext"]?["capabilities"]?["add"] == .array([.string("NET_ADMIN")]))
        #expect(initContainers.last?["securityContext"]?["runAsUser"] == .int(0))
        let sidecar = try #require(Self.container(after, named: "sidecar"))
        #expect(sidecar["securityContext"]?["runAsUser"] == .int(1500))
        #expect(sidecar["volumeMounts"]?.arrayItemsForTest?.first?["mountPath"] == .string("/etc/fsm-sidecar"))
        // The credential is mounted into the sidecar only.
        for container in after["spec"]?["containers"]?.arrayItemsForTest ?? [] where container["name"] != .string("sidecar") {
            #expect(!(container["volumeMounts"]?.arrayItemsForTest ?? []).contains { $0["name"] == .string("fsm-sidecar-credential") })
        }
        #expect((after["spec"]?["volumes"]?.arrayItemsForTest ?? []).contains { $0["name"] == .string("fsm-sidecar-credential") })
    }

    @Test func theGuidesProbeTableIsApplied() throws {
        let http = try Self.patched("http-probes").after
        let app = try #require(Self.container(http, named: "bookstore"))
        #expect(app["livenessProbe"]?["httpGet"] == .object([("path", .string("/fsm-liveness-probe")), ("port", .int(15901)), ("scheme", .string("HTTP"))]))
        #expect(app["readinessProbe"]?["httpGet"]?["port"] == .int(15902))
        #expect(app["readinessProbe"]?["httpGet"]?["path"] == .string("/fsm-readiness-probe"))
        #expect(app["startupProbe"]?["httpGet"]?["port"] == .int(15903))
        // Other settings are kept.
        #expect(app["livenessProbe"]?["initialDelaySeconds"] == .int(3))
        #expect(app["startupProbe"]?["failureThreshold"] == .int(30))
        let arguments = Self.container(http, named: "sidecar")?["args"]?.arrayItemsForTest ?? []
        #expect(arguments.contains(.string("liveness=http:14001:1:/liveness")))
        // The named port `web` is the container's 14001.
        #expect(arguments.contains(.string("readiness=http:14001:1:/readiness")))
        #expect(arguments.contains(.string("startup=http:14001:1:/startup")))

        let tcp = try #require(Self.container(try Self.patched("tcp-probes").after, named: "bookstore"))
        #expect(tcp["livenessProbe"]?["tcpSocket"] == nil)
        #expect(tcp["livenessProbe"]?["httpGet"] == .object([
            ("httpHeaders", .array([.object([("name", .string("Original-Tcp-Port")), ("value", .string("14001"))])])),
            ("path", .string("/fsm-healthcheck")), ("port", .int(15904)), ("scheme", .string("HTTP")),
        ]))

        let https = try #require(Self.container(try Self.patched("https-probe").after, named: "bookstore"))
        // HTTPS: the port only; the exec probe stays.
        #expect(https["readinessProbe"]?["httpGet"] == .object([("path", .string("/healthz")), ("port", .int(15902)), ("scheme", .string("HTTPS"))]))
        #expect(https["livenessProbe"]?["exec"] != nil)
    }

    @Test func theInitContainerCarriesTheMergedExclusions() throws {
        let after = try Self.patched("exclusions").after
        let initContainer = try #require(after["spec"]?["initContainers"]?.arrayItemsForTest?.last)
        #expect(initContainer["args"] == .array([
            "--outbound-ip-range-exclusion-list", "169.254.169.254/32,10.244.0.0/16,10.96.0.0/16",
            "--outbound-ip-range-inclusion-list", "10.0.0.0/8",
            "--outbound-port-exclusion-list", "6379,7070",
            "--inbound-port-exclusion-list", "9090",
        ].map(JSONValue.string)))
        // The pod's own init container runs first.
        #expect(after["spec"]?["initContainers"]?.arrayItemsForTest?.first?["name"] == .string("wait-for-db"))
    }

    /// MeshConfig's `interceptionMode: ebpf`: the node's `fsm interceptor` captures the pod, so no
    /// `fsm-init` is added and the sidecar runs `--capture ebpf`; a mode FSM does not have is a
    /// decoding error at its place.
    @Test func ebpfInterceptionAddsNoInitContainerAndTheSidecarCapturesByEBPF() throws {
        let manifest = """
        apiVersion: config.flomesh.io/v1alpha3
        kind: MeshConfig
        metadata: {name: fsm-mesh-config, namespace: fsm-system}
        spec:
          traffic: {interceptionMode: ebpf}
        """
        guard case .meshConfig(let meshConfig)? = try ManifestDecoder.decode(manifest, file: "mesh.yaml").first?.resource else {
            Issue.record("no MeshConfig decoded")
            return
        }
        #expect(meshConfig.traffic.interceptionMode == .ebpf)
        let request = try JSONValue(parsing: GoldenAdmissionTests.read("plain.request.json"))
        let pod = try #require(request["request"]?["object"])
        let cluster = try GoldenAdmissionTests.cluster()
        let injector = PodInjector(settings: InjectorSettings(image: "flomesh/swift-mesh:v0.10.0"), credentials: try CredentialAuthority(keyBytes: [UInt8](repeating: 7, count: 32)))
        let outcome = injector.inject(pod: pod, namespace: "bookstore", namespaceObject: cluster.namespace(named: "bookstore"), meshConfig: meshConfig, proxyUUID: "00000000-0000-4000-8000-000000000099")
        guard case .inject(let plan) = outcome else {
            Issue.record("not injected: \(outcome)")
            return
        }
        let after = try plan.patch.apply(to: pod)
        #expect(after["spec"]?["initContainers"] == pod["spec"]?["initContainers"])
        let sidecar = try #require(Self.container(after, named: PodInjector.sidecarContainerName))
        #expect(sidecar["args"]?.arrayItemsForTest?.prefix(2) == [.string("--capture"), .string("ebpf")])

        let wrong = manifest.replacingOccurrences(of: "interceptionMode: ebpf", with: "interceptionMode: nftables")
        #expect(throws: ManifestError.self) { try ManifestDecoder.decode(wrong, file: "mesh.yaml") }
        do {
            _ = try ManifestDecoder.decode(wrong, file: "mesh.yaml")
        } catch {
            #expect("\(error)".hasPrefix("mesh.yaml:5:"), "\(error)")
            #expect("\(error)".contains("expected one of iptables, ebpf"), "\(error)")
        }
    }

    @Test func everythingElseIsUntouched() throws {
        let (before, after) = try Self.patched("plain")
        #expect(before["spec"]?["tolerations"] == after["spec"]?["tolerations"])
        #expect(Self.container(before, named: "bookstore") == Self.container(after, named: "bookstore"))
        #expect(before["metadata"]?["ownerReferences"] == after["metadata"]?["ownerReferences"])
        #expect(after["metadata"]?["annotations"]?["prometheus.io/port"] == .string("15010"))
    }
}

extension JSONValue {
    var arrayItemsForTest: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }
}
