import Foundation
import MeshManifest
import MeshModel
import Testing

/// Strict fields, size bounds, label syntax, bytes that are not UTF-8, and what must hold across
/// documents (ManifestSet): each with its exact one-line error.
@Suite struct ManifestBoundsTests {
    func decodeError(_ text: String, file: String = "bad.yaml") -> String? {
        do {
            _ = try ManifestDecoder.decode(text, file: file)
            Issue.record("expected an error")
            return nil
        } catch {
            return error.description
        }
    }

    static func deployment(_ name: String = "web", replicas: Int = 1, extraSpec: String = "", extraContainer: String = "", labels: String = "app: web") -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: \(name)
          labels: {\(labels)}
        spec:
          replicas: \(replicas)
          selector:
            matchLabels: {app: web}
        \(extraSpec)  template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: web
                image: nginx
        \(extraContainer)
        """
    }

    // MARK: - Strict fields

    @Test func misspeltFieldSuggestsTheNearestOne() {
        #expect(decodeError(Self.deployment(extraSpec: "  replica: 3\n"))
            == "bad.yaml:10:3: spec.replica: unknown field \"replica\"; did you mean \"replicas\"?")
        let metadata = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  lables: {app: a}\n"
        #expect(decodeError(metadata) == "bad.yaml:5:3: metadata.lables: unknown field \"lables\"; did you mean \"labels\"?")
        #expect(decodeError(Self.deployment(extraContainer: "        imagePulPolicy: Always"))
            == "bad.yaml:17:9: spec.template.spec.containers[0].imagePulPolicy: unknown field \"imagePulPolicy\"; did you mean \"imagePullPolicy\"?")
    }

    @Test func unknownFieldWithNoNearNameListsTheKnownOnes() {
        let text = "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\nsubsets:\n- addresses: [{ip: 10.0.0.1}]\n  weight: 3\n"
        #expect(decodeError(text) == "bad.yaml:6:3: subsets[0].weight: unknown field \"weight\"; expected one of: addresses, notReadyAddresses, ports")
    }

    @Test func fieldsKubernetesAllowsButTheMeshIgnoresAreAccepted() throws {
        let container = """
                resources: {limits: {cpu: "1"}}
                livenessProbe: {httpGet: {path: /, port: 80}, anything: [goes, here]}
                volumeMounts: [{name: v, mountPath: /v}]
                imagePullPolicy: IfNotPresent
        """
        let text = Self.deployment(extraSpec: "  strategy: {type: RollingUpdate}\n", extraContainer: container)
            .replacingOccurrences(of: "      containers:", with: "      volumes: [{name: v, emptyDir: {}}]\n      containers:")
            + "\nstatus: {replicas: 1, whatever: true}\n"
        let decoded = try ManifestDecoder.decode(text, file: "ok.yaml")
        #expect(decoded.count == 1)
    }

    @Test func meshConfigAndPoliciesAreStrictToo() {
        let meshConfig = "apiVersion: config.flomesh.io/v1alpha3\nkind: MeshConfig\nmetadata: {name: fsm-mesh-config}\nspec:\n  traffic:\n    enableEgres: true\n"
        #expect(decodeError(meshConfig) == "bad.yaml:6:5: spec.traffic.enableEgres: unknown field \"enableEgres\"; did you mean \"enableEgress\"?")
        let known = "apiVersion: config.flomesh.io/v1alpha3\nkind: MeshConfig\nmetadata: {name: fsm-mesh-config}\nspec:\n  traffic: {interceptionMode: ebpf}\n  image: {registry: flomesh}\n"
        #expect((try? ManifestDecoder.decode(known, file: "ok.yaml"))?.count == 1)
        let split = "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: s}\nspec:\n  service: web\n  backends:\n  - {service: web-v1, wieght: 1}\n"
        #expect(decodeError(split) == "bad.yaml:7:23: spec.backends[0].wieght: unknown field \"wieght\"; did you mean \"weight\"?")
    }

    @Test func nearestNameNeedsAPlausibleTypo() {
        #expect(NearestName.suggestion(for: "Replicas", among: ["replicas", "selector"]) == "replicas")
        #expect(NearestName.suggestion(for: "slector", among: ["replicas", "selector"]) == "selector")
        #expect(NearestName.suggestion(for: "nmae", among: ["name", "value"]) == "name")
        #expect(NearestName.suggestion(for: "foo", among: ["replicas", "selector"]) == nil)
        #expect(NearestName.suggestion(for: "ab", among: ["xy"]) == nil)
    }

    // MARK: - Bounds

    @Test func replicasAreBounded() {
        #expect(decodeError(Self.deployment(replicas: 1_000_000))
            == "bad.yaml:7:13: spec.replicas: must be between 0 and 10000 (the limit of replicas per workload), found 1000000")
    }

    @Test func podsOfOneSetAreBounded() {
        let text = [Self.deployment("a", replicas: 10_000), Self.deployment("b", replicas: 10_000), Self.deployment("c", replicas: 1)]
            .joined(separator: "\n---\n")
        #expect(decodeError(text) == "bad.yaml:37:1: Deployment default/c brings the pods to 20001; at most 20000 pods in one set of manifests")
    }

    @Test func documentsPerTextAreBounded() {
        let text = Array(repeating: "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n", count: 10_001).joined(separator: "---\n")
        // The 10,001st document starts on line 40,001 (4 lines per document).
        #expect(decodeError(text) == "bad.yaml:40001:1: more than 10000 YAML documents in one text; at most 10000 (split them into several files)")
    }

    @Test func textSizeIsBounded() {
        let text = "# " + String(repeating: "x", count: 16 << 20) + "\n"
        #expect(decodeError(text) == "bad.yaml:1:1: the file is 16777219 bytes; at most 16777216 bytes (16 MiB) are read (split it into several files)")
        let bytes = [UInt8](repeating: 0x20, count: (16 << 20) + 1)
        #expect(throws: ManifestError(file: "big.yaml", line: 1, column: 1, message: "the file is 16777217 bytes; at most 16777216 bytes (16 MiB) are read (split it into several files)")) {
            try SourceText.decode(bytes, file: "big.yaml")
        }
    }

    // MARK: - Labels, annotations, names

    @Test func labelValuesFollowKubernetesSyntax() {
        let long = String(repeating: "a", count: 64)
        #expect(decodeError(Self.deployment(labels: "app: \(long)"))
            == "bad.yaml:5:17: metadata.labels.app: invalid label value \"\(long)\": must be at most 63 characters, found 64")
        #expect(decodeError(Self.deployment(labels: "app: \"a b\""))
            == "bad.yaml:5:17: metadata.labels.app: invalid label value \"a b\": a label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character")
        #expect(decodeError(Self.deployment(labels: "\"-app\": web"))
            == "bad.yaml:5:12: metadata.labels.-app: invalid label key \"-app\": the name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character")
        #expect(decodeError(Self.deployment(labels: "\"Example.com/app\": web"))
            == "bad.yaml:5:12: metadata.labels[\"Example.com/app\"]: invalid label key \"Example.com/app\": the prefix before '/' must be a lowercase DNS subdomain of at most 253 characters (e.g. 'example.com')")
    }

    @Test func annotationsAreBoundedTogether() {
        let big = String(repeating: "x", count: 200 << 10)
        let text = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  annotations:\n    one: \(big)\n    two: \(big)\n"
        #expect(decodeError(text) == "bad.yaml:6:5: metadata.annotations: annotations take 409606 bytes; at most 262144 bytes (256 KiB) (Kubernetes' limit)")
    }

    @Test func serviceNamesAreDNSLabels() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec:\n  ports: [{port: 80}]\n"
        #expect(decodeError(text) == "bad.yaml:3:18: metadata.name: invalid Service name \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, end with an alphanumeric character, and be at most 63 characters")
    }

    // MARK: - Bytes

    @Test func bytesThatAreNotUTF8AreAnErrorAtTheirPosition() {
        let bytes = Array("apiVersion: v1\nkind: Namespace\nmetadata: {name: ".utf8) + [0xC3, 0x28] + Array("}\n".utf8)
        #expect(throws: ManifestError(file: "ns.yaml", line: 3, column: 18, message: "the file is not UTF-8 text: byte 0xC3 is not valid UTF-8 (save the file as UTF-8)")) {
            try SourceText.decode(bytes, file: "ns.yaml")
        }
        let withMark = [0xEF, 0xBB, 0xBF] + Array("a: é\n".utf8)
        #expect((try? SourceText.decode(withMark, file: "x.yaml")) == "a: é\n")
    }

    // MARK: - Across documents

    @Test func aResourceDefinedTwiceNamesBothPlaces() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
        #expect(decodeError(text) == "bad.yaml:5:1: Namespace shop is already defined at bad.yaml:1:1")
    }

    @Test func twoPodsWithOneIPNameBothPlaces() throws {
        func pod(_ name: String) -> String {
            "apiVersion: v1\nkind: Pod\nmetadata: {name: \(name)}\nspec:\n  containers: [{name: c, image: i}]\nstatus: {podIP: 10.0.0.7}\n"
        }
        let first = try ManifestDecoder.decode(pod("a"), file: "a.yaml")
        let second = try ManifestDecoder.decode(pod("b"), file: "b.yaml")
        let set = ManifestSet(first + second)
        #expect(set.accepted.count == 1)
        #expect(set.problems.map(\.description) == ["b.yaml:1:1: Pod default/b has IP 10.0.0.7, which Pod default/a at a.yaml:1:1 already has"])
    }

    @Test func theLaterFileIsTheOneLeftOut() throws {
        let web = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n"
        let a = try ManifestDecoder.decode(web, file: "a.yaml")
        let b = try ManifestDecoder.decode("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n" + web, file: "b.yaml")
        let set = ManifestSet(a + b)
        #expect(set.accepted.map(\.resource.metadata.name) == ["web", "x"])
        #expect(set.problems.map(\.description) == ["b.yaml:5:1: Service default/web is already defined at a.yaml:1:1"])
    }
}
