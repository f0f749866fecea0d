import Foundation
@testable import MeshInstall
import MeshModel
import Testing

/// What `fsm.fsmGateway.enabled` and `fsm.fsmIngress.enabled` render (F2-003, F2-010): the Gateway
/// API's and FSM Gateway's CRDs from the decoder's schema table, the GatewayClass
/// `fsm-gateway-cls`, the IngressClass `pipy`; the samples' and scenarios' gateway resources pass
/// the CRDs' schemas. Both keys are still refused by `--set` (`InstallValuesTests`): the tests
/// render them through `set(_:allowingNotBuilt:)`.
@Suite struct GatewayInstallTests {
    static func rendered() throws -> ControlPlaneManifests {
        var values = InstallValues()
        try values.set("fsm.fsmGateway.enabled=true,fsm.fsmIngress.enabled=true", allowingNotBuilt: true)
        return ControlPlaneManifests(values: values)
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.venvPython)
        process.arguments = [Self.root.appendingPathComponent("scripts/validate-manifests.py").path, file.path,
                             Self.root.appendingPathComponent("deploy/samples").path, Self.root.appendingPathComponent("scenarios").path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("check-jsonschema HTTPRoute (gateway.networking.k8s.io/v1)"))
        #expect(text.contains("check-jsonschema RateLimitPolicy (gateway.flomesh.io/v1alpha1)"))
        #expect(!text.contains("not checked"))
    }
}
