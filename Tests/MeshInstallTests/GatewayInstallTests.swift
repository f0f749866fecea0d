import Foundation
@testable import MeshInstall
import MeshManifest
import MeshModel
import MeshShell
import Testing

/// What `fsm.fsmGateway.enabled` and `fsm.fsmIngress.enabled` render (F2-003, F2-010): the Gateway
/// API's and FSM Gateway's CRDs from the decoder's schema table, the GatewayClass
/// `fsm-gateway-cls`, the IngressClass `pipy`; the samples' and scenarios' gateway resources pass
/// the CRDs' schemas; the controller runs with `--gateway`/`--ingress` and the image of the pods it
/// deploys, with the access that takes and no more.
@Suite struct GatewayInstallTests {
    static func rendered(_ set: String = "fsm.fsmGateway.enabled=true,fsm.fsmIngress.enabled=true") throws -> ControlPlaneManifests {
        var values = InstallValues()
        try values.set(set)
        return ControlPlaneManifests(values: values)
    }

    static func controllerArguments(_ manifests: ControlPlaneManifests) -> [String] {
        let deployment = manifests.documents().first { $0["kind"] == .string("Deployment") && $0["metadata"]?["name"] == .string("fsm-controller") }
        return deployment?["spec"]?["template"]?["spec"]?["containers"]?.arrayItems?.first?["args"]?.arrayItems?.compactMap(\.stringValue) ?? []
    }

    /// `group/resource verb` of every rule of the controller's ClusterRole.
    static func controllerGrants(_ manifests: ControlPlaneManifests) -> Set<String> {
        let role = manifests.documents().first { $0["kind"] == .string("ClusterRole") && $0["metadata"]?["name"] == .string("fsm-controller-fsm") }
        var grants: Set<String> = []
        for rule in role?["rules"]?.arrayItems ?? [] {
            for group in rule["apiGroups"]?.arrayItems ?? [] {
                for resource in rule["resources"]?.arrayItems ?? [] {
                    for verb in rule["verbs"]?.arrayItems ?? [] {
                        grants.insert("\(group.stringValue ?? "")/\(resource.stringValue ?? "") \(verb.stringValue ?? "")")
                    }
                }
            }
        }
        return grants
    }

    @Test func theGatewayKeyRunsTheControllerWithGatewayAndItsAccess() throws {
        let manifests = try Self.rendered("fsm.fsmGateway.enabled=true,fsm.image.pullPolicy=Always")
        let arguments = Self.controllerArguments(manifests)
        #expect(arguments.contains("--gateway"))
        #expect(!arguments.contains("--ingress"))
        let image = try #require(arguments.firstIndex(of: "--gateway-image"))
        #expect(arguments[image + 1] == "localhost/fsm-swift:\(MeshVersion.current)")
        #expect(arguments.suffix(2) == ["--gateway-image-pull-policy", "Always"])
        let grants = Self.controllerGrants(manifests)
        for expected in ["gateway.networking.k8s.io/gateways watch", "gateway.networking.k8s.io/httproutes list", "gateway.networking.k8s.io/udproutes watch",
                         "gateway.networking.k8s.io/gateways/status patch", "gateway.networking.k8s.io/gatewayclasses/status patch",
                         "gateway.flomesh.io/ratelimitpolicies watch", "gateway.flomesh.io/circuitbreakingpolicies list",
                         "apps/deployments create", "apps/deployments patch", "apps/deployments delete", "/services patch", "/secrets watch"] {
            #expect(grants.contains(expected), "missing \(expected)")
        }
        #expect(!grants.contains("networking.k8s.io/ingresses watch"))
        // Without the key: none of it.
        let plain = ControlPlaneManifests()
        #expect(!Self.controllerArguments(plain).contains("--gateway"))
        #expect(Self.controllerGrants(plain).allSatisfy { !$0.hasPrefix("gateway.") && !$0.hasPrefix("apps/deployments create") && $0 != "/secrets watch" })
    }

    @Test func theIngressKeyRunsTheControllerWithIngressAndTheClassPipy() throws {
        let manifests = try Self.rendered("fsm.fsmIngress.enabled=true")
        let arguments = Self.controllerArguments(manifests)
        #expect(arguments.contains("--ingress"))
        #expect(!arguments.contains("--gateway"))
        let grants = Self.controllerGrants(manifests)
        #expect(grants.isSuperset(of: ["networking.k8s.io/ingresses watch", "policy.flomesh.io/ingressbackends list", "apps/deployments create", "/services create"]))
        #expect(!grants.contains("gateway.networking.k8s.io/gateways watch"))
        #expect(manifests.documents().contains { $0["kind"] == .string("IngressClass") && $0["metadata"]?["name"] == .string("pipy") })
        #expect(!manifests.documents().contains { $0["kind"] == .string("GatewayClass") })
    }

    static func crd(_ documents: [JSONValue], _ name: String) -> JSONValue? {
        documents.first { $0["kind"] == .string("CustomResourceDefinition") && $0["metadata"]?["name"] == .string(name) }
    }

    static func versions(_ crd: JSONValue) -> [JSONValue] {
        guard case .array(let versions)? = crd["spec"]?["versions"] else { return [] }
        return versions
    }

    @Test func theGatewayKindsGetCRDsAndTheClassesFollowThem() throws {
        #expect(CustomResourceKind.gateway.map(\.kind) == ManifestDecoder.gatewayCustomResourceKinds)
        let documents = try Self.rendered().documents()
        #expect(ControlPlaneManifests().documents().allSatisfy { $0["spec"]?["group"] != .string(GatewayAPI.group) })
        for kind in CustomResourceKind.gateway {
            let crd = try #require(Self.crd(documents, kind.crdName), "no CRD \(kind.crdName)")
            guard case .array(let versions)? = crd["spec"]?["versions"] else { Issue.record("no versions in \(kind.crdName)"); continue }
            #expect(versions.allSatisfy { $0["subresources"] == .object([("status", .object([]))]) })
        }
        let tcp = try #require(Self.crd(documents, "tcproutes.gateway.networking.k8s.io"))
        #expect(tcp["spec"]?["versions"] == .array([try #require(Self.versions(tcp).first)]))
        #expect(Self.versions(tcp).first?["name"] == .string("v1alpha2"))
        #expect(Self.crd(documents, "tcproutes.specs.smi-spec.io") != nil)
        #expect(Self.crd(documents, "gatewayclasses.gateway.networking.k8s.io")?["spec"]?["scope"] == .string("Cluster"))
        let http = try #require(Self.crd(documents, "httproutes.gateway.networking.k8s.io"))
        guard case .array(let versions)? = http["spec"]?["versions"] else { Issue.record("no versions"); return }
        #expect(versions.filter { $0["storage"] == .bool(true) }.map { $0["name"] } == [.string("v1")])
        #expect(Self.crd(documents, "ratelimitpolicies.gateway.flomesh.io") != nil)
        let gatewayClass = try #require(documents.first { $0["kind"] == .string("GatewayClass") })
        #expect(gatewayClass["metadata"]?["name"] == .string("fsm-gateway-cls"))
        #expect(gatewayClass["spec"]?["controllerName"] == .string("flomesh.io/gateway-controller"))
        let ingressClass = try #require(documents.first { $0["kind"] == .string("IngressClass") })
        #expect(ingressClass["metadata"]?["name"] == .string("pipy"))
        // Classes come after every CRD.
        let lastCRD = try #require(documents.lastIndex { $0["kind"] == .string("CustomResourceDefinition") })
        #expect(documents.firstIndex { $0["kind"] == .string("GatewayClass") }! > lastCRD)
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let venvPython = root.appendingPathComponent(".build/validate-venv/bin/python").path
    static let haveCheckers = FileManager.default.isExecutableFile(atPath: root.appendingPathComponent(".build/validate-venv/bin/check-jsonschema").path)

    @Test(.enabled(if: haveCheckers, "needs kubernetes-validate and check-jsonschema in .build/validate-venv (scripts/setup-validate.sh; PyPI)"))
    func theSamplesAndScenariosGatewayResourcesPassTheCRDs() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fsm-gateway-\(UInt32.random(in: 0...UInt32.max)).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(try Self.rendered().yaml().utf8).write(to: file)
        let arguments = [Self.root.appendingPathComponent("scripts/validate-manifests.py").path, file.path,
                         Self.root.appendingPathComponent("deploy/samples").path, Self.root.appendingPathComponent("scenarios").path]
        let completion = try SpawnedProcess.run(ProcessLaunch(Self.venvPython, arguments, standardOutput: .pipe, standardError: .standardOutput),
                                                timeout: .seconds(300))
        let text = completion.outputText
        #expect(completion.termination == .exited(0), "\(text)")
        #expect(text.contains("check-jsonschema HTTPRoute (gateway.networking.k8s.io/v1)"))
        #expect(text.contains("check-jsonschema RateLimitPolicy (gateway.flomesh.io/v1alpha1)"))
        #expect(!text.contains("not checked"))
    }
}
