import MeshControl
import MeshModel
import Testing

@Test func podInMonitoredNamespaceWithAnnotationIsMeshed() {
    var controller = MeshController()
    _ = controller.apply([
        .upsert(.namespace(Namespace(metadata: ObjectMeta(name: "app", labels: ["flomesh.io/monitored-by": "fsm"], annotations: ["flomesh.io/sidecar-injection": "enabled"])))),
        .upsert(.pod(Pod(metadata: ObjectMeta(name: "a", namespace: "app")))),
    ])
    #expect(controller.meshedPods == [PodKey(namespace: "app", name: "a")])
}
