import Foundation
import MeshControl
import MeshControlPlane
import MeshModel
import MeshUp
import Testing

/// deploy/samples/bookstore decodes, and every pod gets its sidecar and the right demo app.
@Suite struct SampleManifestsTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/samples/bookstore").path

    @Test func bookstoreSampleDecodesAndMeshesFivePods() throws {
        var source = ManifestClusterSource(path: Self.samples)
        let changes = source.poll().changes
        #expect(source.problems == [])
        var controller = MeshController()
        _ = controller.apply(changes)
        let meshed = controller.meshedPods.map { "\($0.namespace)/\($0.name)" }
        #expect(meshed.count == 5)
        let apps = source.cluster.pods.compactMap { PlannedApp(pod: $0) }
        #expect(apps.map(\.kind).sorted() == ["bookbuyer", "bookstore", "bookstore", "bookthief", "bookwarehouse"])
        #expect(Set(apps.filter { $0.kind == "bookstore" }.map(\.identity)) == ["bookstore-v1", "bookstore-v2"])
        #expect(apps.allSatisfy { $0.port == 14001 })
        #expect(apps.first { $0.kind == "bookbuyer" }?.bookstoreHost == "bookstore.bookstore:14001")
        #expect(controller.diagnostics == [])
        let permissive = source.cluster.resources.values.contains {
            if case .meshConfig(let config) = $0 { return config.traffic.enablePermissiveTrafficPolicyMode }
            return false
        }
        #expect(!permissive)
    }

    @Test func appArgumentsPointAtTheOwnSidecar() throws {
        let pod = Pod(metadata: ObjectMeta(name: "bookstore-v2-0", namespace: "bookstore", labels: ["app": "bookstore"]),
                      spec: PodSpec(serviceAccountName: "bookstore-v2", containers: [
                          Container(name: "bookstore", ports: [ContainerPort(containerPort: 14001)], env: [EnvVar(name: "IDENTITY", value: "bookstore-v2")]),
                      ]))
        let app = try #require(PlannedApp(pod: pod))
        #expect(app.arguments(podIP: "127.81.1.12", proxyPort: 15001) == [
            "demo-app", "bookstore", "--listen", "127.81.1.12:14001", "--identity", "bookstore-v2",
            "--proxy", "127.81.1.12:15001", "--bookstore", "bookstore.bookstore:14001", "--bookwarehouse", "bookwarehouse.bookwarehouse:14001",
        ])
        let httpbin = Pod(metadata: ObjectMeta(name: "web-0", namespace: "demo"), spec: PodSpec(containers: [Container(name: "web", image: "kennethreitz/httpbin:latest", ports: [ContainerPort(containerPort: 14080)])]))
        #expect(PlannedApp(pod: httpbin)?.kind == "httpbin")
        #expect(PlannedApp(pod: httpbin)?.arguments(podIP: "127.81.1.20", proxyPort: 15001) == ["demo-app", "httpbin", "--listen", "127.81.1.20:14080", "--identity", "web-0"])
        #expect(PlannedApp(pod: Pod(metadata: ObjectMeta(name: "db-0", namespace: "demo"), spec: PodSpec(containers: [Container(name: "mysql", image: "mariadb")]))) == nil)
    }
}
