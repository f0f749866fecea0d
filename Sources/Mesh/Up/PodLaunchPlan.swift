import MeshModel

/// A pod spec (after admission) turned into what the kubelet would run, on one machine: its init
/// containers in order, then its containers, each a `ContainerLaunch`; its volumes as directories
/// of the pod's own; and the containers nothing here can run (an image this machine does not
/// have), named with the reason. Pure: the shell supplies the addresses, paths and images.
public struct PodLaunchPlan: Sendable, Equatable {
    /// What the kubelet knows beyond the spec: addresses, where the pod's files go, which images run.
    public struct Context: Sendable {
        public var podIP: String
        public var hostIP: String
        /// Holds `volumes/<name>` for each volume.
        public var podDirectory: String
        /// Mounted read-only at /etc/hosts in every container (the kubelet's managed hosts file).
        public var hostsFile: String?
        /// The image the mesh's containers run (`fsm init`, `fsm sidecar`): their command runs as written.
        public var meshImage: String
        /// Containers that run a demo app, by name: the program and its arguments.
        public var apps: [String: [String]]
        /// Secrets that exist (the injector's credential Secrets): a secret volume must name one.
        public var secrets: Set<String>

        public init(podIP: String, hostIP: String, podDirectory: String, hostsFile: String? = nil, meshImage: String,
                    apps: [String: [String]] = [:], secrets: Set<String> = []) {
            self.podIP = podIP
            self.hostIP = hostIP
            self.podDirectory = podDirectory
            self.hostsFile = hostsFile
            self.meshImage = meshImage
            self.apps = apps
            self.secrets = secrets
        }
    }

    /// A volume as a directory of the pod's: a Secret's files, or an emptyDir.
    public struct Volume: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            case secret(String)
            case emptyDir
        }

        public var name: String
        public var source: Source
        public var hostPath: String
        /// The user and group of the containers that mount it (they must agree), who alone may read it.
        public var owner: (user: Int, group: Int)

        public static func == (a: Volume, b: Volume) -> Bool {
            a.name == b.name && a.source == b.source && a.hostPath == b.hostPath && a.owner == b.owner
        }
    }

    public var namespace: String
    public var name: String
    public var initContainers: [ContainerLaunch]
    public var containers: [ContainerLaunch]
    public var volumes: [Volume]
    /// `container name: why it does not run here`.
    public var notRun: [String]

    public var key: String { "\(namespace)/\(name)" }

    public init(pod: JSONValue, context: Context) throws(PodSpecProblem) {
        let reader = PodSpecReader(pod: pod)
        namespace = reader.metadata("namespace") ?? "default"
        name = try reader.requiredName()
        let spec = try reader.spec()
        let downward = try DownwardAPI(pod: pod, spec: spec, context: context, reader: reader)
        var volumes = try reader.volumes(spec, context: context)
        var notRun: [String] = []
        var launches: [String: [ContainerLaunch]] = [:]
        for field in ["initContainers", "containers"] {
            for (index, container) in (spec[field]?.arrayItems ?? []).enumerated() {
                let path = "spec.\(field)[\(index)]"
                let launch = try reader.container(container, path: path, spec: spec, downward: downward, volumes: volumes, context: context)
                switch launch {
                case .run(let launch): launches[field, default: []].append(launch)
                case .notRun(let why): notRun.append(why)
                }
            }
        }
        initContainers = launches["initContainers"] ?? []
        containers = launches["containers"] ?? []
        try Self.assignOwners(&volumes, containers: initContainers + containers, reader: reader)
        self.volumes = volumes
        self.notRun = notRun
    }

    /// Each volume belongs to the one user and group that mount it (0600 files in a 0700 directory).
    private static func assignOwners(_ volumes: inout [Volume], containers: [ContainerLaunch], reader: PodSpecReader) throws(PodSpecProblem) {
        for index in volumes.indices {
            let users = Set(containers.filter { $0.mounts.contains { $0.source == volumes[index].hostPath } }.map { "\($0.user):\($0.group)" })
            guard users.count <= 1 else {
                throw reader.problem("spec.volumes[\(index)]", "volume \(volumes[index].name) is mounted by containers of different users (\(users.sorted().joined(separator: ", "))); on one machine a volume belongs to one user")
            }
            let owner = containers.first { $0.mounts.contains { $0.source == volumes[index].hostPath } }
            volumes[index].owner = (owner?.user ?? 0, owner?.group ?? 0)
        }
    }
}

/// A pod spec that cannot be run here: the pod, the field and what is wrong.
public struct PodSpecProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var pod: String
    public var field: String
    public var message: String

    public var description: String { "pod \(pod): \(field): \(message)" }
}
