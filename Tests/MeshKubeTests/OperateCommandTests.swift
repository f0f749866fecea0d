import Foundation
import MeshInstall
import MeshKube
import MeshKubeTesting
import MeshModel
import MeshOperate
import MeshTesting
import Testing

/// `fsm install`, `fsm uninstall mesh`, `fsm namespace ...`, `fsm metrics ...` and `fsm version`
/// as a user runs them, against the API-server double with its controllers running (CRDs
/// established, Deployments rolled out). Double at 127.93.40.x, one per test.
@Suite(.timeLimit(.minutes(3)))
struct OperateCommandTests {
    /// A double with controllers, a kubeconfig for it, and the fsm binary.
    struct Cluster {
        var double: KubeAPIDouble
        var directory: URL
        var kubeconfig: String
        var fsm: String

        static func start(_ n: Int, controllers: KubeAPIControllers? = KubeAPIControllers()) async throws -> Cluster {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fsm-operate-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(40, n), tokens: ["operator"], controllers: controllers))
            let kubeconfig = try ControllerCommandTests.kubeconfig(server: double.url, token: "operator", in: directory)
            let fsm = try #require(TestExecutables.path(of: "fsm"), "the fsm executable is not in the build directory")
            return Cluster(double: double, directory: directory, kubeconfig: kubeconfig, fsm: fsm)
        }

        /// Runs fsm with `--kubeconfig` appended; stdin is `input`.
        func run(_ arguments: [String], input: String = "", timeout: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
            let outcome = try TestExecutables.run(fsm, arguments + ["--kubeconfig", kubeconfig], input: input, timeout: .milliseconds(Int(timeout * 1000)))
            return (outcome.status, outcome.stdout, outcome.stderr)
        }

        func stop() async {
            await double.shutdown()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    static let documents = ControlPlaneManifests().documents()

    static func exists(_ document: JSONValue, in double: KubeAPIDouble) async -> Bool {
        guard let type = KubeResourceType.of(apiVersion: document["apiVersion"]?.stringValue ?? "", kind: document["kind"]?.stringValue ?? "",
                                             among: KubeResourceType.controlPlaneKinds),
              let name = document["metadata"]?["name"]?.stringValue else { return false }
        return await double.object(type, namespace: document["metadata"]?["namespace"]?.stringValue ?? "", name: name) != nil
    }

    @Test func installAppliesEverythingInOrderWaitsAndPrintsTheGuidesLines() async throws {
        let cluster = try await Cluster.start(1)
        defer { Task { await cluster.stop() } }
        let result = try cluster.run(["install", "--timeout", "30s"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("fsm-injector[fsm-injector-") == true && lines.first?.hasSuffix("] Done") == true)
        #expect(lines.dropFirst().first?.hasPrefix("fsm-controller[fsm-controller-") == true)
        #expect(lines.last == "FSM installed successfully in namespace [fsm-system] with mesh name [fsm]")
        for document in Self.documents {
            #expect(await Self.exists(document, in: cluster.double), "\(document["kind"]?.stringValue ?? "") \(document["metadata"]?["name"]?.stringValue ?? "") was not applied")
        }
        // Server-side apply by the field manager fsm, in dependency order.
        let applies = await cluster.double.writes().filter { $0.contentType == "application/apply-patch+yaml" }
        #expect(applies.count == Self.documents.count)
        #expect(applies.allSatisfy { $0.query["fieldManager"] == "fsm" })
        let phases = applies.compactMap { $0.type.map(InstallPlan.phase(of:)) }
        #expect(phases == phases.sorted())
        #expect(applies.first?.type == .namespaces)
        #expect(applies.last?.type == .validatingWebhookConfigurations)
        let crdsDone = applies.lastIndex { $0.type == .customResourceDefinitions } ?? 0
        #expect(applies.firstIndex { $0.type == .meshConfigs } ?? 0 > crdsDone)
    }

    @Test func aSecondInstallIsRefusedWithTheGuidesText() async throws {
        let cluster = try await Cluster.start(2)
        defer { Task { await cluster.stop() } }
        #expect(try cluster.run(["install", "--timeout", "30s"]).status == 0)
        let writes = await cluster.double.writes().count
        let again = try cluster.run(["install"])
        #expect(again.status == 1)
        #expect(again.stderr == "Error: Mesh fsm already exists in cluster. Please specify a new mesh name using --mesh-name\n")
        let other = try cluster.run(["install", "--mesh-name", "other"])
        #expect(other.status == 1)
        #expect(other.stderr.hasPrefix("Error: Namespace fsm-system already has an fsm controller (mesh fsm)"))
        #expect(await cluster.double.writes().count == writes, "a refused install writes nothing")
    }

    @Test func anInstallThatNeverBecomesReadyTimesOutNamingWhatIsNotReady() async throws {
        let cluster = try await Cluster.start(3, controllers: KubeAPIControllers(podsBecomeReady: false))
        defer { Task { await cluster.stop() } }
        let result = try cluster.run(["install", "--timeout", "2s"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("Error: fsm install: timed out after 2s waiting for Deployments to become Available: fsm-system/fsm-controller (0 of 1 replicas available), fsm-system/fsm-injector (0 of 1 replicas available)"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func uninstallRemovesWhatTheFlagsSay() async throws {
        let cluster = try await Cluster.start(4)
        defer { Task { await cluster.stop() } }
        #expect(try cluster.run(["install", "--timeout", "30s"]).status == 0)
        let declined = try cluster.run(["uninstall", "mesh"], input: "n\n")
        #expect(declined.stdout.hasPrefix("Uninstall FSM [mesh name: fsm] ? [y/n]: "))
        #expect(await cluster.double.object(.deployments, namespace: "fsm-system", name: "fsm-controller") != nil)

        let result = try cluster.run(["uninstall", "mesh"], input: "y\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Uninstall FSM [mesh name: fsm] ? [y/n]: FSM [mesh name: fsm] uninstalled\n")
        for document in Self.documents {
            let kind = document["kind"]?.stringValue ?? ""
            let kept = kind == "Namespace" || kind == "CustomResourceDefinition"
            #expect(await Self.exists(document, in: cluster.double) == kept, "\(kind) \(document["metadata"]?["name"]?.stringValue ?? "")")
        }
        #expect(try cluster.run(["uninstall", "mesh", "-y"]).stderr == "Error: Did not find mesh [fsm] in namespace [fsm-system]\n")

        #expect(try cluster.run(["install", "--timeout", "30s"]).status == 0)
        let all = try cluster.run(["uninstall", "mesh", "-y", "--delete-namespace", "--delete-cluster-wide-resources"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.contains("Successfully deleted FSM CRD: meshconfigs.config.flomesh.io\n"))
        #expect(all.stdout.hasSuffix("FSM namespace [fsm-system] deleted successfully\n"))
        for document in Self.documents { #expect(!(await Self.exists(document, in: cluster.double))) }
    }

    @Test func namespaceCommandsLabelAndAnnotateAsTheGuidesSay() async throws {
        let cluster = try await Cluster.start(5, controllers: nil)
        defer { Task { await cluster.stop() } }
        await cluster.double.put(.namespaces, ["bookstore", "bookbuyer", "kube-system"].map { name in
            .object([("apiVersion", .string("v1")), ("kind", .string("Namespace")), ("metadata", .object([("name", .string(name))]))])
        })
        func namespace(_ name: String) async -> JSONValue? { await cluster.double.object(.namespaces, name: name)?["metadata"] }

        #expect(try cluster.run(["namespace", "add", "bookstore"]).stdout == "Namespace [bookstore] successfully added to mesh [fsm]\n")
        #expect(await namespace("bookstore")?["labels"]?["flomesh.io/monitored-by"] == .string("fsm"))
        #expect(await namespace("bookstore")?["annotations"]?["flomesh.io/sidecar-injection"] == .string("enabled"))
        #expect(try cluster.run(["namespace", "add", "bookbuyer", "--disable-sidecar-injection"]).status == 0)
        #expect(await namespace("bookbuyer")?["annotations"]?["flomesh.io/sidecar-injection"] == .string("disabled"))

        let list = try cluster.run(["namespace", "list", "--mesh-name", "fsm"])
        #expect(list.stdout == "NAMESPACE   MESH   SIDECAR-INJECTION\nbookbuyer   fsm    disabled\nbookstore   fsm    enabled\n")

        #expect(try cluster.run(["metrics", "enable", "--namespace", "bookstore"]).stdout == "Metrics successfully enabled in namespace [bookstore]\n")
        #expect(await namespace("bookstore")?["annotations"]?["flomesh.io/metrics"] == .string("enabled"))
        #expect(try cluster.run(["metrics", "disable", "--namespace", "bookstore"]).stdout == "Metrics successfully disabled in namespace [bookstore]\n")
        #expect(await namespace("bookstore")?["annotations"]?["flomesh.io/metrics"] == nil)
        let outside = try cluster.run(["metrics", "enable", "--namespace", "kube-system"])
        #expect(outside.status == 1)
        #expect(outside.stderr == "Error: namespace [kube-system] does not belong to a mesh, missing label \"flomesh.io/monitored-by\"\n")

        #expect(try cluster.run(["namespace", "remove", "bookstore"]).stdout == "Namespace [bookstore] successfully removed from mesh [fsm]\n")
        #expect(await namespace("bookstore")?["labels"]?["flomesh.io/monitored-by"] == nil)
        #expect(await namespace("bookstore")?["annotations"]?["flomesh.io/sidecar-injection"] == nil)

        #expect(try cluster.run(["namespace", "ignore", "kube-system"]).stdout == "Successfully configured namespace [kube-system] to be ignored\n")
        #expect(await namespace("kube-system")?["labels"]?["flomesh.io/ignore"] == .string("true"))
        let missing = try cluster.run(["namespace", "add", "nowhere"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "Error: Could not add namespace [nowhere] to mesh [fsm]: namespace [nowhere] does not exist\n")
    }

    @Test func versionPrintsTheClientAndEachMesh() async throws {
        let cluster = try await Cluster.start(6)
        defer { Task { await cluster.stop() } }
        #expect(try cluster.run(["version"]).stdout == "CLI Version: \(MeshVersion.current)\nNo FSM control planes found in the cluster\n")
        #expect(try cluster.run(["install", "--timeout", "30s"]).status == 0)
        let version = try cluster.run(["version"])
        #expect(version.stdout == "CLI Version: \(MeshVersion.current)\nMESH NAME   MESH NAMESPACE   VERSION\nfsm         fsm-system       \(MeshVersion.current)\n")
    }

    @Test func installWithTheGatewayAndIngressKeysAppliesTheirClassesAndCRDs() async throws {
        let cluster = try await Cluster.start(8)
        defer { Task { await cluster.stop() } }
        let result = try cluster.run(["install", "--timeout", "30s", "--set", "fsm.fsmGateway.enabled=true", "--set", "fsm.fsmIngress.enabled=true"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(await cluster.double.object(.gatewayClasses, name: "fsm-gateway-cls")?["spec"]?["controllerName"] == .string("flomesh.io/gateway-controller"))
        #expect(await cluster.double.object(.ingressClasses, name: "pipy") != nil)
        #expect(await cluster.double.object(.customResourceDefinitions, name: "httproutes.gateway.networking.k8s.io") != nil)
        let controller = await cluster.double.object(.deployments, namespace: "fsm-system", name: "fsm-controller")
        let arguments = controller?["spec"]?["template"]?["spec"]?["containers"]?.arrayItems?.first?["args"]?.arrayItems?.compactMap(\.stringValue) ?? []
        #expect(arguments.contains("--gateway") && arguments.contains("--ingress"))
    }

    @Test(arguments: ["", "fsm.fsmGateway.enabled=true,fsm.fsmIngress.enabled=true"])
    func theRenderedControllerArgumentsAreOnesTheCommandAccepts(set: String) async throws {
        let cluster = try await Cluster.start(set.isEmpty ? 7 : 9, controllers: nil)
        defer { Task { await cluster.stop() } }
        var values = InstallValues()
        if !set.isEmpty { try values.set(set) }
        let documents = ControlPlaneManifests(values: values).documents()
        let deployment = try #require(documents.first { $0["kind"]?.stringValue == "Deployment" && $0["metadata"]?["name"]?.stringValue == "fsm-controller" })
        guard case .array(let containers)? = deployment["spec"]?["template"]?["spec"]?["containers"],
              case .array(let arguments)? = containers.first?["args"] else { Issue.record("no container args"); return }
        // Parsed and validated by the real command; it stops only at the missing kubeconfig file.
        let result = try cluster.run(arguments.compactMap(\.stringValue) + ["--context", "nowhere"], timeout: 20)
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("Error: kubeconfig: "), "\(result.stderr)")
        #expect(result.stderr.contains("nowhere"))
    }
}
