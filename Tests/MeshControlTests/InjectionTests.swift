import MeshControl
import MeshModel
import MeshTesting
import Testing

@Suite struct InjectionTests {
    private func meshed(namespace: ResourceChange, podAnnotations: [String: String] = [:], hostNetwork: Bool = false) -> Bool {
        var controller = MeshController()
        _ = controller.apply([
            namespace,
            ClusterFixtures.pod("a", "app", serviceAccount: "default", labels: ["app": "a"], ip: "10.0.0.1", annotations: podAnnotations, hostNetwork: hostNetwork),
        ])
        return controller.isMeshed(PodKey("app", "a"))
    }

    @Test func namespaceAnnotationInjectsPods() {
        #expect(meshed(namespace: ClusterFixtures.namespace("app")))
    }

    @Test func podAnnotationInjectsWithoutNamespaceAnnotation() {
        #expect(meshed(namespace: ClusterFixtures.namespace("app", injection: nil), podAnnotations: ["flomesh.io/sidecar-injection": "enabled"]))
        #expect(!meshed(namespace: ClusterFixtures.namespace("app", injection: nil)))
    }

    @Test func podDisabledWinsOverNamespaceEnabled() {
        #expect(!meshed(namespace: ClusterFixtures.namespace("app"), podAnnotations: ["flomesh.io/sidecar-injection": "disabled"]))
    }

    @Test func podEnabledInNamespaceDisabled() {
        #expect(meshed(namespace: ClusterFixtures.namespace("app", injection: "disabled"), podAnnotations: ["flomesh.io/sidecar-injection": "enabled"]))
    }

    @Test func unmonitoredNamespaceNeverInjects() {
        #expect(!meshed(namespace: ClusterFixtures.namespace("app", monitored: false), podAnnotations: ["flomesh.io/sidecar-injection": "enabled"]))
    }

    @Test func otherMeshDoesNotCount() {
        let ns = ResourceChange.upsert(.namespace(Namespace(metadata: ObjectMeta(name: "app", labels: ["flomesh.io/monitored-by": "other"], annotations: ["flomesh.io/sidecar-injection": "enabled"]))))
        #expect(!meshed(namespace: ns))
    }

    @Test func hostNetworkAndControlPlaneNeverInject() {
        #expect(!meshed(namespace: ClusterFixtures.namespace("app"), podAnnotations: ["flomesh.io/sidecar-injection": "enabled"], hostNetwork: true))
        #expect(!meshed(namespace: ClusterFixtures.namespace("app", labels: ["name": "fsm-system"]), podAnnotations: ["flomesh.io/sidecar-injection": "enabled"]))
    }

    @Test func namespaceLabelRemovalUnmeshesPods() {
        var controller = MeshController()
        _ = controller.apply([ClusterFixtures.namespace("app"), ClusterFixtures.pod("a", "app", serviceAccount: "default", labels: [:], ip: "10.0.0.1")])
        #expect(controller.meshedPods == [PodKey("app", "a")])
        let update = controller.apply([ClusterFixtures.namespace("app", monitored: false)])
        #expect(update.removed == [PodKey("app", "a")])
        #expect(controller.meshedPods.isEmpty)
        #expect(controller.config(for: PodKey("app", "a")) == nil)
    }
}
