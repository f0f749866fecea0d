import MeshControl
import MeshIdentity
import MeshInject
import MeshManifest
import MeshModel
import MeshUp
import Testing

/// A pod as the injection webhook patches it, turned into what `fsm up --pods netns` runs (the
/// kubelet's part): the init container and the sidecar run the patch's own commands with `$(VAR)`
/// expanded from the downward API, the sidecar as uid 1500 with its credential mounted read-only,
/// the app as the demo app, probes as rewritten to 15901-15904.
@Suite struct PodLaunchPlanTests {
    static let manifests = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: bookstore
          labels:
            flomesh.io/monitored-by: fsm
          annotations:
            flomesh.io/sidecar-injection: enabled
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: bookstore
          namespace: bookstore
        spec:
          replicas: 1
          selector:
            matchLabels:
              app: bookstore
          template:
            metadata:
              labels:
                app: bookstore
            spec:
              serviceAccountName: bookstore
              containers:
                - name: bookstore
                  image: flomesh/bookstore:latest
                  ports:
                    - containerPort: 14001
                      name: web
                  command: ["/bookstore"]
                  args: ["--port", "14001"]
                  env:
                    - name: IDENTITY
                      value: bookstore-v1
                    - name: GREETING
                      value: "at $(IDENTITY)"
                  livenessProbe:
                    httpGet:
                      path: /
                      port: web
                    periodSeconds: 2
                  readinessProbe:
                    httpGet:
                      path: /raw
                      port: 14001
                  startupProbe:
                    tcpSocket:
                      port: 14001
                    failureThreshold: 30
        """

    static let binary = "/opt/mesh/bin/fsm"
    static let uuid = "5d3c4b2a-0000-4000-8000-000000000001"

    /// The webhook's patch for bookstore-0, applied as the API server applies it.
    static func admitted() throws -> (pod: JSONValue, secret: String) {
        let documents = try YAMLReader.documents(text: manifests, file: "bookstore.yaml").map(\.jsonValue)
        let original = try #require(WorkloadPods(documents: documents).pod("bookstore/bookstore-0"))
        var cluster = InjectorClusterState(controlPlaneNamespace: "fsm-system")
        cluster.apply(try ManifestDecoder.decode(manifests, file: "bookstore.yaml").map { .upsert($0.resource) })
        let injector = PodInjector(settings: InjectorSettings(binaryPath: binary, sidecarBinaryPath: binary, controllerURL: "http://10.244.9.1:6060"),
                                   credentials: try CredentialAuthority(keyBytes: [UInt8](repeating: 3, count: 32)))
        guard case .inject(let injection) = injector.inject(pod: original, namespace: "bookstore", namespaceObject: cluster.namespace(named: "bookstore"),
                                                            meshConfig: cluster.meshConfig(), proxyUUID: uuid) else {
            throw NotInjected()
        }
        return (try injection.patch.apply(to: original), injection.secret.name)
    }

    struct NotInjected: Error {}

    static func context(secrets: Set<String>, apps: [String: [String]] = ["bookstore": [binary, "demo-app", "bookstore"]]) -> PodLaunchPlan.Context {
        PodLaunchPlan.Context(podIP: "10.244.9.12", hostIP: "10.244.9.1", podDirectory: "/state/pods/bookstore_bookstore-0",
                              hostsFile: "/state/pods/bookstore_bookstore-0/hosts", meshImage: InjectorSettings.defaultImage, apps: apps, secrets: secrets)
    }

    @Test func theInitContainerProgramsCaptureAsRoot() throws {
        let (pod, secret) = try Self.admitted()
        let plan = try PodLaunchPlan(pod: pod, context: Self.context(secrets: [secret]))
        #expect(plan.key == "bookstore/bookstore-0")
        let initContainer = try #require(plan.initContainers.only)
        #expect(initContainer.name == "fsm-init")
        #expect(Array(initContainer.argv.prefix(2)) == [Self.binary, "init"])
        #expect(initContainer.user == 0 && initContainer.group == 0)
        #expect(initContainer.probes.isEmpty)
    }

    @Test func theSidecarRunsAsUid1500WithItsPodAndCredential() throws {
        let (pod, secret) = try Self.admitted()
        let plan = try PodLaunchPlan(pod: pod, context: Self.context(secrets: [secret]))
        let sidecar = try #require(plan.containers.first { $0.name == "sidecar" })
        #expect(Array(sidecar.argv.prefix(4)) == [Self.binary, "sidecar", "--capture", "iptables"])
        // `$(POD_NAMESPACE)/$(POD_NAME)` and `$(POD_IP)` from the downward API.
        #expect(sidecar.argv.adjacent("--pod") == "bookstore/bookstore-0")
        #expect(sidecar.argv.adjacent("--pod-ip") == "10.244.9.12")
        #expect(sidecar.argv.adjacent("--controller") == "http://10.244.9.1:6060")
        #expect(sidecar.argv.adjacent("--credential-file") == "/etc/fsm-sidecar/credential")
        #expect(sidecar.environment.contains("POD_NAME=bookstore-0"))
        #expect(sidecar.environment.contains("SERVICE_ACCOUNT=bookstore"))
        #expect(sidecar.user == 1500 && sidecar.group == 1500 && sidecar.noNewPrivileges)
        #expect(sidecar.mounts.contains(ContainerMount(source: "/state/pods/bookstore_bookstore-0/volumes/fsm-sidecar-credential", path: "/etc/fsm-sidecar", readOnly: true)))
        #expect(sidecar.mounts.contains(ContainerMount(source: "/state/pods/bookstore_bookstore-0/hosts", path: "/etc/hosts", readOnly: true)))
        // The credential volume belongs to the sidecar's user only.
        let volume = try #require(plan.volumes.only)
        #expect(volume.source == .secret(secret))
        #expect(volume.owner.user == 1500 && volume.owner.group == 1500)
        // Its run arguments carry all of it to `fsm container`.
        let arguments = sidecar.runArguments(netns: "fsm-abc-bookstore-bookstore-0", scratch: "/scratch")
        #expect(Array(arguments.prefix(9)) == ["container", "--netns", "fsm-abc-bookstore-bookstore-0", "--user", "1500", "--group", "1500", "--scratch", "/scratch"])
        #expect(arguments.contains("--no-new-privileges"))
        #expect(Array(arguments.drop { $0 != "--" }.dropFirst()) == sidecar.argv)
    }

    @Test func theAppRunsTheDemoAppWithoutTheCredential() throws {
        let (pod, secret) = try Self.admitted()
        let plan = try PodLaunchPlan(pod: pod, context: Self.context(secrets: [secret]))
        let app = try #require(plan.containers.first { $0.name == "bookstore" })
        #expect(app.argv == [Self.binary, "demo-app", "bookstore"])
        #expect(app.environment == ["IDENTITY=bookstore-v1", "GREETING=at bookstore-v1"])
        #expect(app.user == 0 && !app.noNewPrivileges)
        #expect(app.mounts == [ContainerMount(source: "/state/pods/bookstore_bookstore-0/hosts", path: "/etc/hosts", readOnly: true)])
    }

    @Test func theKubeletProbesGoToTheRewrittenPorts() throws {
        let (pod, secret) = try Self.admitted()
        let app = try #require(try PodLaunchPlan(pod: pod, context: Self.context(secrets: [secret])).containers.first { $0.name == "bookstore" })
        #expect(app.probe(.liveness)?.action == .http(port: 15901, path: "/fsm-liveness-probe", scheme: "HTTP", headers: []))
        #expect(app.probe(.liveness)?.periodSeconds == 2)
        #expect(app.probe(.readiness)?.action == .http(port: 15902, path: "/fsm-readiness-probe", scheme: "HTTP", headers: []))
        // tcpSocket becomes `/fsm-healthcheck` on 15904 with the original port in a header.
        #expect(app.probe(.startup)?.action == .http(port: 15904, path: "/fsm-healthcheck", scheme: "HTTP",
                                                     headers: [ContainerProbe.Header(name: "Original-Tcp-Port", value: "14001")]))
        #expect(app.probe(.startup)?.failureThreshold == 30)
    }

    @Test func aContainerWithoutAProgramHereIsNamedNotRun() throws {
        let (pod, secret) = try Self.admitted()
        let plan = try PodLaunchPlan(pod: pod, context: Self.context(secrets: [secret], apps: [:]))
        #expect(plan.containers.map(\.name) == ["sidecar"])
        #expect(plan.notRun == ["bookstore: image flomesh/bookstore:latest has no program on this machine"])
    }

    @Test func aSecretThatDoesNotExistHereIsRefusedWithItsField() throws {
        let (pod, _) = try Self.admitted()
        #expect(throws: PodSpecProblem.self) { try PodLaunchPlan(pod: pod, context: Self.context(secrets: [])) }
        do {
            _ = try PodLaunchPlan(pod: pod, context: Self.context(secrets: []))
        } catch {
            #expect(error.field == "spec.volumes[0].secret")
            #expect(error.description.hasPrefix("pod bookstore/bookstore-0: spec.volumes[0].secret: Secret fsm-sidecar-credential-"))
        }
    }

    @Test(arguments: [
        (#"{"hostNetwork":true,"containers":[{"name":"a","image":"x"}]}"#, "spec.hostNetwork"),
        (#"{"containers":[]}"#, "spec.containers"),
        (#"{"containers":[{"name":"a","image":"x","securityContext":{"runAsNonRoot":true}}]}"#, "spec.containers[0].securityContext.runAsNonRoot"),
        (#"{"containers":[{"name":"a","image":"x","livenessProbe":{"httpGet":{"port":"nope"}}}]}"#, "spec.containers[0].livenessProbe.httpGet.port"),
        (#"{"containers":[{"name":"a","image":"x","env":[{"name":"E","valueFrom":{"secretKeyRef":{}}}]}]}"#, "spec.containers[0].env[0].valueFrom"),
        (#"{"volumes":[{"name":"v","hostPath":{"path":"/"}}],"containers":[{"name":"a","image":"x"}]}"#, "spec.volumes[0]"),
    ])
    func aSpecThisMachineCannotRunNamesItsField(_ spec: String, _ field: String) throws {
        let pod = try JSONValue(parsing: #"{"metadata":{"name":"p","namespace":"n"},"spec":"# + spec + "}")
        do {
            _ = try PodLaunchPlan(pod: pod, context: Self.context(secrets: [], apps: ["a": ["/bin/true"]]))
            Issue.record("\(spec) was accepted")
        } catch {
            #expect(error.field == field, "\(error)")
            #expect(error.pod == "n/p")
        }
    }

    @Test func variablesExpandAsTheKubeletDoes() {
        let values = ["A": "1", "B": "two"]
        #expect(VariableExpansion.expand("$(A)-$(B)-$(C)", { values[$0] }) == "1-two-$(C)")
        #expect(VariableExpansion.expand("$$(A) $ $x $(unclosed", { values[$0] }) == "$(A) $ $x $(unclosed")
    }

    @Test func thePodsHostsFileNamesEveryServiceAsAResolverWouldTryIt() {
        let hosts = PodHosts.render(podName: "bookbuyer-0", podNamespace: "bookbuyer", podIP: "10.244.9.10", services: [
            PodHosts.Service(name: "bookstore", namespace: "bookstore", clusterIP: "10.96.9.10"),
            PodHosts.Service(name: "bookbuyer", namespace: "bookbuyer", clusterIP: "10.96.9.11"),
        ])
        let lines = hosts.split(separator: "\n").map(String.init)
        #expect(lines.contains("10.244.9.10\tbookbuyer-0"))
        #expect(lines.contains("10.96.9.10\tbookstore.bookstore.svc.cluster.local bookstore.bookstore.svc bookstore.bookstore"))
        #expect(lines.contains("10.96.9.11\tbookbuyer.bookbuyer.svc.cluster.local bookbuyer.bookbuyer.svc bookbuyer.bookbuyer bookbuyer"))
    }
}

extension Array where Element: Equatable {
    /// The element after the first `item`.
    func adjacent(_ item: Element) -> Element? {
        guard let index = firstIndex(of: item), index + 1 < count else { return nil }
        return self[index + 1]
    }
}

extension Collection {
    /// The one element, nil when there are none or more.
    var only: Element? { count == 1 ? first : nil }
}
