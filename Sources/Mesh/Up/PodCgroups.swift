import Foundation
import MeshShell

/// `fsm up --pods netns` under eBPF capture (MeshConfig `traffic.interceptionMode: ebpf`): one
/// cgroup v2 directory per meshed pod with a `sidecar` and an `app` child, as a node's container
/// runtime makes them, all under `<cgroup mount>/fsm-<tag>`; `fsm interceptor` attaches its
/// programs to them and pins its maps under `/sys/fs/bpf/fsm-<tag>`. Recorded in the state before
/// anything is made; `fsm down` removes what is left (after the interceptor, which detaches on SIGTERM).
public struct PodCgroups: Codable, Sendable, Equatable {
    public var root: String
    public var pinDirectory: String

    public init(root: String, pinDirectory: String) {
        self.root = root
        self.pinDirectory = pinDirectory
    }

    /// The directories for the network of tag `tag`; nil when no cgroup v2 hierarchy is mounted.
    public static func plan(tag: String, mountPoint: String? = CgroupV2.mountPoint()) -> PodCgroups? {
        mountPoint.map { PodCgroups(root: "\($0)/fsm-\(tag)", pinDirectory: "/sys/fs/bpf/fsm-\(tag)") }
    }

    /// `bookstore/bookstore-0` -> `<root>/bookstore_bookstore-0`.
    public func pod(_ key: String) -> String { "\(root)/\(key.replacingOccurrences(of: "/", with: "_"))" }
    public func sidecar(_ key: String) -> String { pod(key) + "/sidecar" }
    public func app(_ key: String) -> String { pod(key) + "/app" }

    /// Makes the root (once) and the pod's three directories.
    public func create(pod key: String) throws(CgroupFailure) {
        for path in [root, pod(key), sidecar(key), app(key)] { try CgroupV2.create(path) }
    }

    /// Removes every pod's cgroup (killing what still runs there) and a pin directory a killed
    /// interceptor left; returns what is still there.
    public func teardown() -> [String] {
        var left: [String] = []
        if !CgroupV2.remove(root) { left.append("cgroup \(root)") }
        if FileManager.default.fileExists(atPath: pinDirectory), (try? FileManager.default.removeItem(atPath: pinDirectory)) == nil {
            left.append("bpf pin directory \(pinDirectory)")
        }
        return left
    }

    /// The `fsm interceptor --pods` file for `pods` (key, address, network namespace, the
    /// admitted pod's annotations, whose `flomesh.io/*-exclusion-list` ones it honours).
    public func podsFile(_ pods: [(key: String, ip: String, netns: String, annotations: [String: String])]) -> String {
        var lines = ["pods:"]
        for pod in pods {
            lines += ["- name: \(Self.quoted(pod.key))", "  ip: \(pod.ip)", "  cgroup: \(Self.quoted(self.pod(pod.key)))",
                      "  sidecarCgroup: \(Self.quoted(sidecar(pod.key)))", "  netns: \(Self.quoted("/var/run/netns/\(pod.netns)"))"]
            let annotations = pod.annotations.filter { $0.key.hasPrefix("flomesh.io/") }
            if !annotations.isEmpty {
                lines.append("  annotations:")
                lines += annotations.sorted { $0.key < $1.key }.map { "    \(Self.quoted($0.key)): \(Self.quoted($0.value))" }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
