import MeshInterceptor
import MeshInterceptorPods
import MeshModel
import MeshRedirect
import MeshUp
import Testing

@Suite struct InterceptorPodsFileTests {
    static let defaults = InterceptorPodsFile.Defaults()

    func decode(_ text: String, defaults: InterceptorPodsFile.Defaults = defaults) throws(ManifestError) -> [InterceptorPod] {
        try InterceptorPodsFile.decode(text, file: "pods.yaml", defaults: defaults)
    }

    func problem(_ text: String) -> String {
        do {
            _ = try decode(text)
            return "decoded"
        } catch {
            return error.description
        }
    }

    /// What `fsm up --pods netns` writes under eBPF capture is what the interceptor reads.
    @Test func fsmUpsPodsFileDecodes() throws {
        let cgroups = PodCgroups(root: "/sys/fs/cgroup/fsm-1a2b3c", pinDirectory: "/sys/fs/bpf/fsm-1a2b3c")
        let text = cgroups.podsFile([
            (key: "bookstore/bookstore-0", ip: "10.244.0.12", netns: "fsm-1a2b3c-bookstore-bookstore-0",
             annotations: ["flomesh.io/outbound-port-exclusion-list": "6379", "other.io/x": "1"]),
            (key: "bookbuyer/bookbuyer-0", ip: "10.244.0.10", netns: "fsm-1a2b3c-bookbuyer-bookbuyer-0", annotations: [:]),
        ])
        let pods = try decode(text)
        #expect(pods.map(\.name) == ["bookstore/bookstore-0", "bookbuyer/bookbuyer-0"])
        #expect(pods[0].addressText == "10.244.0.12")
        #expect(pods[0].cgroupPath == "/sys/fs/cgroup/fsm-1a2b3c/bookstore_bookstore-0")
        #expect(pods[0].sidecarCgroupPath == "/sys/fs/cgroup/fsm-1a2b3c/bookstore_bookstore-0/sidecar")
        #expect(pods[0].networkNamespacePath == "/var/run/netns/fsm-1a2b3c-bookstore-bookstore-0")
        #expect(pods[0].settings.outboundPortExclusions.contains(6379))
        #expect(!pods[1].settings.outboundPortExclusions.contains(6379))
    }

    @Test func podsWithTheirSettings() throws {
        var meshConfig = MeshConfig()
        meshConfig.traffic.outboundPortExclusionList = [6379]
        let pods = try decode("""
            pods:
            - name: bookstore/bookstore-0
              ip: 10.89.0.12
              cgroup: /sys/fs/cgroup/unified/fsm/bookstore-0
              sidecarCgroup: /sys/fs/cgroup/unified/fsm/bookstore-0/sidecar
              netns: /var/run/netns/bookstore-0
              annotations:
                flomesh.io/outbound-port-exclusion-list: "7070"
            - ip: 10.89.0.13
              cgroup: /sys/fs/cgroup/unified/fsm/bookstore-v2-0
            """, defaults: InterceptorPodsFile.Defaults(meshConfig: meshConfig, proxyUID: 1501))
        #expect(pods.count == 2)
        #expect(pods[0].name == "bookstore/bookstore-0")
        #expect(pods[0].addressText == "10.89.0.12")
        #expect(pods[0].sidecarCgroupPath == "/sys/fs/cgroup/unified/fsm/bookstore-0/sidecar")
        #expect(pods[0].networkNamespacePath == "/var/run/netns/bookstore-0")
        #expect(pods[0].settings.outboundPortExclusions == [6379, 7070])
        #expect(pods[0].settings.proxyUID == 1501)
        // Unnamed pods are named by their address; the mesh-wide lists apply to every pod.
        #expect(pods[1].name == "10.89.0.13")
        #expect(pods[1].settings.outboundPortExclusions == [6379])
        #expect(pods[1].networkNamespacePath == nil)
    }

    @Test func badEntriesAreOneLineAtTheirPlace() {
        #expect(problem("pods:\n- cgroup: /sys/fs/cgroup/unified/a\n") == "pods.yaml:2:3: pods[0].ip: missing required field \"ip\"")
        #expect(problem("pods:\n- ip: 10.89.0.300\n  cgroup: /x/y\n") == "pods.yaml:2:7: pods[0].ip: expected an IPv4 address such as 10.244.0.10, found string \"10.89.0.300\"")
        #expect(problem("pods:\n- ip: 10.89.0.1\n  cgroup: fsm/pod\n") == "pods.yaml:3:11: pods[0].cgroup: expected an absolute path, found string \"fsm/pod\"")
        #expect(problem("pods:\n- ip: 10.89.0.1\n  cgroup: /x/y\n  netns: 3\n") == "pods.yaml:4:10: pods[0].netns: expected string, found integer 3")
        #expect(problem("pods:\n- ip: 10.89.0.1\n  cgrup: /x/y\n") == "pods.yaml:3:3: pods[0].cgrup: unknown field \"cgrup\"; did you mean \"cgroup\"?")
        #expect(problem("pods: []\n") == "pods.yaml:1:7: pods: expected at least one pod")
        #expect(problem("pod:\n- ip: 10.89.0.1\n") == "pods.yaml:1:1: pod: unknown field \"pod\"; did you mean \"pods\"?")
    }

    @Test func badAnnotationsNameTheAnnotation() {
        let text = "pods:\n- ip: 10.89.0.1\n  cgroup: /x/y\n  annotations:\n    flomesh.io/inbound-port-exclusion-list: \"80,,81\"\n"
        #expect(problem(text) == "pods.yaml:5:5: pods[0].annotations: pod annotation flomesh.io/inbound-port-exclusion-list: \"80,,81\" has an empty item; expected a comma-separated list")
    }

    @Test func anAddressGivenTwiceNamesBothPlaces() {
        let text = "pods:\n- ip: 10.89.0.1\n  cgroup: /a/b\n- ip: 10.89.0.1\n  cgroup: /a/c\n"
        #expect(problem(text) == "pods.yaml:4:7: pods[1].ip: pod address 10.89.0.1 is given twice (first at pods.yaml:2:7)")
    }
}
