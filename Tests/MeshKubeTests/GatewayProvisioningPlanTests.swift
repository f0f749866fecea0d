import Foundation
import MeshKube
import MeshModel
import MeshTesting
import Testing

/// The planner of FSM Gateway's pods: one workload per Gateway namespace (its oldest Gateway's),
/// the listener ports by transport, and the actions that bring what the API holds to it.
struct GatewayProvisioningPlanTests {
    let plan = GatewayProvisioningPlan(settings: .init(image: "localhost/fsm-swift:1", ingress: false))

    static func config(_ gateway: String, _ listeners: [(Int, GatewayListenerProtocol)]) -> GatewayConfig {
        GatewayConfig(gateway: gateway, version: "\(listeners)", listeners: listeners.enumerated().map { index, listener in
            GatewayConfig.Listener(name: "l\(index)", port: listener.0, protocol: listener.1)
        })
    }

    static func object(_ namespace: String, _ name: String, created: String = "2026-01-01T00:00:00Z") -> GatewayProvisioningPlan.GatewayObject {
        .init(key: KubeObjectKey(namespace: namespace, name: name), uid: "uid-\(name)", created: created)
    }

    /// The objects the plan applies, as the API would then list them.
    func listed(_ actions: [GatewayProvisioningPlan.Action]) -> [KubeResourceType: [KubeObject]] {
        var existing: [KubeResourceType: [KubeObject]] = [:]
        for action in actions {
            switch action {
            case .apply(let type, _, let object): existing[type, default: []].append(KubeObject(json: object))
            case .writeCredential(let key, let gateway, _):
                existing[.secrets, default: []].append(KubeObject(json: .object([("metadata", .object([
                    ("name", .string(key.name)), ("namespace", .string(key.namespace)),
                    ("annotations", .object([(GatewayProvisioningPlan.gatewayAnnotation, .string(gateway))])),
                ]))])))
            case .delete: break
            }
        }
        return existing
    }

    @Test func theOldestGatewayOfANamespaceIsServedWithItsListenerPortsByTransport() {
        let workloads = plan.workloads(
            configs: [Self.config("httpbin/newer", [(9000, .http)]), Self.config("httpbin/older", [(8000, .http), (8000, .udp), (8443, .https), (8000, .tcp)]),
                      Self.config("gone/gateway", [(80, .http)])],
            gateways: [Self.object("httpbin", "newer", created: "2026-02-01T00:00:00Z"), Self.object("httpbin", "older")])
        #expect(workloads.map(\.name) == ["fsm-gateway-httpbin"])
        #expect(workloads.first?.gateway == "httpbin/older")
        #expect(workloads.first?.owner?.uid == "uid-older")
        #expect(workloads.first?.ports.map { "\($0.port)/\($0.transport)" } == ["8000/TCP", "8000/UDP", "8443/TCP"])
    }

    @Test func theIngressIsDeployedInTheControlPlaneNamespaceOnPort80WithoutAnOwner() {
        let ingress = GatewayProvisioningPlan(settings: .init(controlPlaneNamespace: "fsm-system", image: "i", ingress: true))
        let workloads = ingress.workloads(configs: [Self.config("fsm-system/fsm-ingress", [(80, .http)])], gateways: [])
        #expect(workloads.map { "\($0.namespace)/\($0.name) \($0.gateway) \($0.ports.map(\.port))" } == ["fsm-system/fsm-ingress fsm-system/fsm-ingress [80]"])
        #expect(workloads.first?.owner == nil)
    }

    @Test func aNewWorkloadGetsItsDeploymentServiceAndCredentialThenNothingMore() throws {
        let workloads = plan.workloads(configs: [Self.config("httpbin/gw", [(8000, .http)])], gateways: [Self.object("httpbin", "gw")])
        let actions = plan.plan(workloads, existing: [:])
        #expect(actions.count == 3)
        guard case .apply(.deployments, let key, let deployment) = actions[0], case .apply(.services, _, let service) = actions[1],
              case .writeCredential(let secret, "httpbin/gw", let owner) = actions[2] else {
            Issue.record("unexpected actions \(actions)")
            return
        }
        #expect(key == KubeObjectKey(namespace: "httpbin", name: "fsm-gateway-httpbin"))
        #expect(secret == KubeObjectKey(namespace: "httpbin", name: "fsm-gateway-httpbin-credential"))
        #expect(owner?.uid == "uid-gw")
        let container = deployment["spec"]?["template"]?["spec"]?["containers"]?.arrayItems?.first
        #expect(container?["image"] == .string("localhost/fsm-swift:1"))
        #expect(container?["args"]?.arrayItems?.compactMap(\.stringValue) == [
            "gateway", "--controller", "http://fsm-controller.fsm-system.svc:6060", "--gateway", "httpbin/gw",
            "--credential-file", "/var/run/fsm-gateway/credential", "--bind", "0.0.0.0",
        ])
        let volume = deployment["spec"]?["template"]?["spec"]?["volumes"]?.arrayItems?.first
        #expect(volume?["secret"]?["secretName"] == .string("fsm-gateway-httpbin-credential"))
        #expect(volume?["secret"]?["defaultMode"] == .int(0o600))
        #expect(deployment["metadata"]?["ownerReferences"]?.arrayItems?.first?["uid"] == .string("uid-gw"))
        #expect(deployment["metadata"]?["labels"]?["app"] == .string("fsm-gateway"))
        #expect(service["spec"]?["type"] == .string("LoadBalancer"))
        #expect(service["spec"]?["ports"]?.arrayItems?.map { $0["port"] } == [.int(8000)])
        #expect(plan.plan(workloads, existing: listed(actions)).isEmpty)
    }

    @Test func aListenerChangeReappliesTheServiceAndDeploymentButKeepsTheCredential() {
        let before = plan.workloads(configs: [Self.config("httpbin/gw", [(8000, .http)])], gateways: [Self.object("httpbin", "gw")])
        let existing = listed(plan.plan(before, existing: [:]))
        let after = plan.workloads(configs: [Self.config("httpbin/gw", [(8000, .http), (9000, .udp)])], gateways: [Self.object("httpbin", "gw")])
        let actions = plan.plan(after, existing: existing)
        #expect(actions.map(Self.describe) == ["apply Deployment httpbin/fsm-gateway-httpbin", "apply Service httpbin/fsm-gateway-httpbin"])
    }

    @Test func anotherGatewayServedReplacesTheCredentialAndAWorkloadGoneIsDeleted() {
        let existing = listed(plan.plan(plan.workloads(configs: [Self.config("httpbin/a", [(8000, .http)])], gateways: [Self.object("httpbin", "a")]), existing: [:]))
        let next = plan.workloads(configs: [Self.config("httpbin/b", [(8000, .http)])], gateways: [Self.object("httpbin", "b")])
        #expect(plan.plan(next, existing: existing).map(Self.describe) == [
            "apply Deployment httpbin/fsm-gateway-httpbin", "apply Service httpbin/fsm-gateway-httpbin", "credential httpbin/fsm-gateway-httpbin-credential for httpbin/b",
        ])
        #expect(plan.plan([], existing: existing).map(Self.describe) == [
            "delete Deployment httpbin/fsm-gateway-httpbin", "delete Service httpbin/fsm-gateway-httpbin", "delete Secret httpbin/fsm-gateway-httpbin-credential",
        ])
    }

    static func describe(_ action: GatewayProvisioningPlan.Action) -> String {
        switch action {
        case .apply(let type, let key, _): "apply \(type.kind) \(key)"
        case .delete(let type, let key): "delete \(type.kind) \(key)"
        case .writeCredential(let key, let gateway, _): "credential \(key) for \(gateway)"
        }
    }
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let venvPython = root.appendingPathComponent(".build/validate-venv/bin/python").path
    static let haveCheckers = FileManager.default.isExecutableFile(atPath: root.appendingPathComponent(".build/validate-venv/bin/kubernetes-validate").path)

    @Test(.enabled(if: haveCheckers, "needs kubernetes-validate in .build/validate-venv (scripts/setup-validate.sh; PyPI)"))
    func theProvisionedObjectsPassKubernetesValidate() throws {
        let ingress = GatewayProvisioningPlan(settings: .init(image: "localhost/fsm-swift:1", ingress: true))
        let workloads = ingress.workloads(configs: [Self.config("httpbin/gw", [(8000, .http), (5353, .udp)])], gateways: [Self.object("httpbin", "gw")])
        var documents: [JSONValue] = []
        for action in ingress.plan(workloads, existing: [:]) {
            if case .apply(_, _, let object) = action { documents.append(object) }
        }
        #expect(documents.count == 4)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fsm-gateway-objects-\(UInt32.random(in: 0...UInt32.max)).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(JSONValue.yamlStream(documents).utf8).write(to: file)
        let result = try Command.run(Self.venvPython, [Self.root.appendingPathComponent("scripts/validate-manifests.py").path, file.path])
        let text = result.output + result.errorOutput
        #expect(result.status == 0, "\(text)")
        #expect(text.contains("4 documents passed"), "\(text)")
    }
}
