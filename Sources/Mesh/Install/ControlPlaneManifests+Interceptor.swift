import MeshModel

/// With `--set fsm.trafficInterceptionMode=ebpf`: the interceptor DaemonSet (the guides'
/// fsm-interceptor, F1-063), one `fsm interceptor` per node following a directory of pod files
/// (`--pods-dir`, what a CNI plugin writes as it sets up each pod's network namespace), with the
/// host's bpf filesystem, cgroup v2 hierarchy and network namespaces. It talks to no API server,
/// so its ServiceAccount has no role and no token.
extension ControlPlaneManifests {
    public static let interceptorName = "fsm-interceptor"
    /// Where the node's pod files are (a hostPath the CNI plugin writes into).
    public static let interceptorPodsDirectory = "/var/run/fsm-interceptor/pods"

    var interceptsWithEBPF: Bool { values.string("fsm.trafficInterceptionMode") == "ebpf" }

    /// The interceptor's ServiceAccount and DaemonSet; nothing in iptables mode.
    func interceptor() -> [JSONValue] {
        guard interceptsWithEBPF else { return [] }
        let name = Self.interceptorName
        return [
            Self.document("v1", "ServiceAccount", metadata(name, app: name), [("automountServiceAccountToken", .bool(false))]),
            Self.document("apps/v1", "DaemonSet", metadata(name, app: name, extraLabels: [("meshName", .string(meshName))]), [
                ("spec", .object([
                    ("selector", .object([("matchLabels", .object([("app", .string(name))]))])),
                    ("updateStrategy", .object([("type", .string("RollingUpdate"))])),
                    ("template", .object([("metadata", .object([("labels", podLabels(name))])), ("spec", interceptorPodSpec())])),
                ])),
            ]),
        ]
    }

    /// The pod labels every workload of the control plane carries.
    func podLabels(_ name: String) -> JSONValue {
        .object([
            ("app", .string(name)), ("app.kubernetes.io/name", .string("flomesh.io")), ("app.kubernetes.io/instance", .string(meshName)),
            ("app.kubernetes.io/version", .string(MeshVersion.current)), ("meshName", .string(meshName)),
        ])
    }

    func interceptorPodSpec() -> JSONValue {
        .object([
            ("serviceAccountName", .string(Self.interceptorName)),
            ("automountServiceAccountToken", .bool(false)),
            // The node's own network and processes: pod network namespaces are named by their
            // holders' /proc/<pid>/ns/net, and the tc programs go on the pods' interfaces.
            ("hostNetwork", .bool(true)), ("hostPID", .bool(true)), ("dnsPolicy", .string("ClusterFirstWithHostNet")),
            ("priorityClassName", .string("system-node-critical")),
            ("tolerations", .array([.object([("operator", .string("Exists"))])])),
            ("containers", .array([interceptorContainer()])),
            ("volumes", .array(Self.interceptorVolumes.map { volume in
                volume.hostPath.map { path in
                    .object([("name", .string(volume.name)), ("hostPath", .object([("path", .string(path)), ("type", .string(volume.hostType))]))])
                } ?? .object([("name", .string(volume.name)), ("emptyDir", .object([("sizeLimit", .string("1Mi"))]))])
            })),
        ])
    }

    func interceptorContainer() -> JSONValue {
        func quantities(_ kind: String) -> JSONValue {
            .object([("cpu", values["fsm.fsmInterceptor.resource.\(kind).cpu"]), ("memory", values["fsm.fsmInterceptor.resource.\(kind).memory"])])
        }
        let arguments = ["interceptor", "--pods-dir", Self.interceptorPodsDirectory, "--pin-dir", "/sys/fs/bpf/\(meshName)",
                         "--log-level", values.bool("fsm.fsmInterceptor.debug") ? "debug" : "info"]
        return .object([
            ("name", .string(Self.interceptorName)), ("image", .string(image)), ("imagePullPolicy", values["fsm.image.pullPolicy"]),
            ("command", .array([.string(Self.binaryPath)])), ("args", .array(arguments.map { .string($0) })),
            ("resources", .object([("requests", quantities("requests")), ("limits", quantities("limits"))])),
            // Root with the four capabilities the loader needs (bpf(), cgroup and tc attachment,
            // setns into pods' namespaces, reading other processes' namespaces), nothing else.
            ("securityContext", .object([
                ("runAsUser", .int(0)), ("runAsNonRoot", .bool(false)), ("readOnlyRootFilesystem", .bool(true)),
                ("capabilities", .object([
                    ("drop", .array([.string("ALL")])),
                    ("add", .array(["BPF", "NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"].map { .string($0) })),
                ])),
                ("seccompProfile", .object([("type", .string("RuntimeDefault"))])),
            ])),
            ("volumeMounts", .array(Self.interceptorVolumes.map { volume in
                var mount: [(String, JSONValue)] = [("name", .string(volume.name)), ("mountPath", .string(volume.mountPath))]
                if volume.readOnly { mount.append(("readOnly", .bool(true))) }
                if volume.propagates { mount.append(("mountPropagation", .string("HostToContainer"))) }
                return .object(mount)
            })),
        ])
    }

    /// The host paths the interceptor works in (mounted at the same place) and its lock directory.
    static let interceptorVolumes: [(name: String, hostPath: String?, hostType: String, mountPath: String, readOnly: Bool, propagates: Bool)] = [
        ("bpffs", "/sys/fs/bpf", "Directory", "/sys/fs/bpf", false, false),
        ("cgroup", "/sys/fs/cgroup", "Directory", "/sys/fs/cgroup", true, false),
        ("netns", "/var/run/netns", "DirectoryOrCreate", "/var/run/netns", true, true),
        ("pods", "/var/run/fsm-interceptor", "DirectoryOrCreate", "/var/run/fsm-interceptor", true, false),
        ("lock", nil, "", "/run/fsm-interceptor", false, false),
    ]
}
