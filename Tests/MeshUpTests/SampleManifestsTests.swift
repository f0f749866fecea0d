import Foundation
import MeshControl
import MeshControlPlane
import MeshManifest
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

    /// With `--admitted-pods`, the pods as admission left them replace the ones the workloads stamp
    /// out (the controller then sees the injector's `fsm-proxy-uuid` label); anything else there is
    /// left out and reported.
    @Test func admittedPodsReplaceTheStampedOutOnes() throws {
        let directory = NSTemporaryDirectory() + "mesh-admitted-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let documents = try YAMLReader.documents(text: String(contentsOfFile: Self.samples + "/10-bookbuyer.yaml", encoding: .utf8), file: "b.yaml").map(\.jsonValue)
        let pod = try #require(WorkloadPods(documents: documents).pod("bookbuyer/bookbuyer-0"))
        let admitted = pod.setting(["metadata", "labels", "fsm-proxy-uuid"], .string("u-1"))
        try (admitted.rendered(pretty: true) + "\n").write(toFile: directory + "/bookbuyer_bookbuyer-0.yaml", atomically: true, encoding: .utf8)
        try "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: stray\n".write(toFile: directory + "/stray.yaml", atomically: true, encoding: .utf8)
        var source = ManifestClusterSource(path: Self.samples, admittedPods: directory)
        _ = source.poll()
        let buyer = try #require(source.cluster.pods.first { $0.metadata.name == "bookbuyer-0" })
        #expect(buyer.metadata.labels["fsm-proxy-uuid"] == "u-1")
        #expect(buyer.metadata.labels["app"] == "bookbuyer")
        #expect(source.cluster.pods.count == 5)
        #expect(source.problems.count == 1)
        #expect(source.problems.first?.contains("Namespace stray left out: this directory holds admitted pods only") == true, "\(source.problems)")
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
