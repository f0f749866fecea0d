/// One container of a pod as `fsm up --pods netns` runs it (the kubelet's part, on one machine):
/// the command with `$(VAR)` expanded, the environment the kubelet would give it, the user it
/// runs as, what is mounted where, and its probes. `fsm container` carries it out inside the
/// pod's network namespace.
public struct ContainerLaunch: Codable, Sendable, Equatable {
    public var name: String
    public var image: String
    /// The program and its arguments (`command` + `args`, expanded), program first.
    public var argv: [String]
    /// `NAME=value`, in the spec's order (values expanded; downward API resolved).
    public var environment: [String]
    /// `runAsUser` / `runAsGroup` (container, else pod); 0 when neither says (an image's root).
    public var user: Int
    public var group: Int
    /// `allowPrivilegeEscalation: false`: the program starts with no_new_privs.
    public var noNewPrivileges: Bool
    public var mounts: [ContainerMount]
    public var probes: [ContainerProbe]
    /// The cgroup v2 directory it runs in (eBPF capture tells a pod's sidecar and app apart by
    /// theirs); nil: `fsm up`'s own.
    public var cgroup: String?

    public init(name: String, image: String, argv: [String], environment: [String] = [], user: Int = 0, group: Int = 0,
                noNewPrivileges: Bool = false, mounts: [ContainerMount] = [], probes: [ContainerProbe] = []) {
        self.name = name
        self.image = image
        self.argv = argv
        self.environment = environment
        self.user = user
        self.group = group
        self.noNewPrivileges = noNewPrivileges
        self.mounts = mounts
        self.probes = probes
    }

    /// The probe of one kind, if the container has it.
    public func probe(_ kind: ContainerProbe.Kind) -> ContainerProbe? { probes.first { $0.kind == kind } }

    /// `fsm container` arguments that run this container in network namespace `netns`, with
    /// `scratch` as the directory its missing mount points are made in (none: it has none).
    public func runArguments(netns: String, scratch: String?) -> [String] {
        var arguments = ["container", "--netns", netns, "--user", String(user), "--group", String(group)]
        if let scratch { arguments += ["--scratch", scratch] }
        if noNewPrivileges { arguments.append("--no-new-privileges") }
        if let cgroup { arguments += ["--cgroup", cgroup] }
        for mount in mounts { arguments += ["--mount", mount.argument] }
        for variable in environment { arguments += ["--env", variable] }
        return arguments + ["--"] + argv
    }
}

/// A host directory or file seen at `path` inside a container.
public struct ContainerMount: Codable, Sendable, Equatable {
    public var source: String
    public var path: String
    public var readOnly: Bool

    public init(source: String, path: String, readOnly: Bool) {
        self.source = source
        self.path = path
        self.readOnly = readOnly
    }

    /// `SOURCE:PATH[:ro]`, as `fsm container --mount` takes it.
    public var argument: String { "\(source):\(path)" + (readOnly ? ":ro" : "") }

    /// Parses `SOURCE:PATH[:ro]` (both absolute); nil for anything else.
    public init?(argument: String) {
        var parts = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var readOnly = false
        if parts.count == 3, parts[2] == "ro" {
            readOnly = true
            parts.removeLast()
        }
        guard parts.count == 2, parts.allSatisfy({ $0.hasPrefix("/") }) else { return nil }
        self.init(source: parts[0], path: parts[1], readOnly: readOnly)
    }
}

/// A container's liveness, readiness or startup probe, as the kubelet runs it against the pod's
/// IP. After injection its HTTP and TCP probes are HTTP GETs of the sidecar's 15901-15904.
public struct ContainerProbe: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case liveness, readiness, startup

        /// `livenessProbe`, ...
        public var fieldName: String { rawValue + "Probe" }
    }

    public enum Action: Codable, Sendable, Equatable {
        case http(port: Int, path: String, scheme: String, headers: [Header])
        case tcp(port: Int)
        /// `exec` and `grpc`: kept so that the plan says what it does not run.
        case unsupported(String)
    }

    public struct Header: Codable, Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var kind: Kind
    public var action: Action
    public var timeoutSeconds: Int
    public var periodSeconds: Int
    public var failureThreshold: Int
    public var successThreshold: Int

    public init(kind: Kind, action: Action, timeoutSeconds: Int = 1, periodSeconds: Int = 10, failureThreshold: Int = 3, successThreshold: Int = 1) {
        self.kind = kind
        self.action = action
        self.timeoutSeconds = timeoutSeconds
        self.periodSeconds = periodSeconds
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
    }
}
