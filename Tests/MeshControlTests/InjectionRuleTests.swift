import MeshControl
import MeshModel
import MeshTesting
import Testing

/// The rule the webhook and the controller share (F1-043..F1-048), with FSM's annotation values
/// and the namespaces it never injects.
@Suite struct InjectionRuleTests {
    let rule = InjectionRule(meshName: "fsm", controlPlaneNamespace: "fsm-system")

    func namespace(_ name: String = "app", labels: [String: String] = ["flomesh.io/monitored-by": "fsm"], injection: String? = nil) -> Namespace {
        Namespace(metadata: ObjectMeta(name: name, labels: labels, annotations: injection.map { ["flomesh.io/sidecar-injection": $0] } ?? [:]))
    }

    func decide(_ namespace: Namespace?, pod: String? = nil, hostNetwork: Bool = false) -> InjectionRule.Decision {
        rule.decide(namespace: namespace, podAnnotations: pod.map { ["flomesh.io/sidecar-injection": $0] } ?? [:], hostNetwork: hostNetwork)
    }

    @Test func fsmsSpellingsCountInAnyCase() {
        for value in ["enabled", "YES", "True"] {
            #expect(decide(namespace(injection: value)) == .inject)
            #expect(decide(namespace(), pod: value) == .inject)
        }
        for value in ["disabled", "No", "FALSE"] {
            #expect(decide(namespace(injection: "enabled"), pod: value) == .disabledByPod)
            #expect(decide(namespace(injection: value)) == .notEnabled)
        }
    }

    @Test func otherValuesAreErrorsThatNameTheirPlace() {
        #expect(decide(namespace(), pod: "on") == .invalidAnnotation(on: "the pod", value: "on"))
        #expect(decide(namespace(injection: "1")) == .invalidAnnotation(on: "namespace app", value: "1"))
        #expect("\(decide(namespace(), pod: "on"))" ==
            "invalid value \"on\" of annotation flomesh.io/sidecar-injection on the pod: expected enabled, yes, true, disabled, no or false")
    }

    @Test func namespacesNeverInjected() {
        #expect(decide(nil, pod: "enabled") == .namespaceNotMonitored)
        #expect(decide(namespace(labels: [:]), pod: "enabled") == .namespaceNotMonitored)
        #expect(decide(namespace("fsm-system"), pod: "enabled") == .namespaceNotMonitored)
        #expect(decide(namespace(labels: ["flomesh.io/monitored-by": "fsm", "name": "fsm-system"]), pod: "enabled") == .namespaceNotMonitored)
        #expect(decide(namespace("kube-system"), pod: "enabled") == .namespaceExcluded("kube-system belongs to Kubernetes"))
        #expect(decide(namespace(labels: ["flomesh.io/monitored-by": "fsm", "flomesh.io/ignore": "true"]), pod: "enabled")
            == .namespaceExcluded("labelled flomesh.io/ignore=true (fsm namespace ignore)"))
        #expect(decide(namespace(labels: ["flomesh.io/monitored-by": "fsm", "control-plane": ""]), pod: "enabled") == .namespaceExcluded("labelled control-plane"))
        #expect(decide(namespace(injection: "enabled"), hostNetwork: true) == .hostNetwork)
    }

    @Test func theControllerMeshesExactlyWhatTheRuleInjects() {
        var controller = MeshController()
        _ = controller.apply([
            .upsert(.namespace(namespace(labels: ["flomesh.io/monitored-by": "fsm", "flomesh.io/ignore": "true"], injection: "enabled"))),
            .upsert(.pod(Pod(metadata: ObjectMeta(name: "a", namespace: "app"), podIP: "10.0.0.1"))),
        ])
        #expect(controller.meshedPods.isEmpty)
        _ = controller.apply([.upsert(.namespace(namespace(injection: "yes")))])
        #expect(controller.meshedPods == [PodKey("app", "a")])
    }
}
