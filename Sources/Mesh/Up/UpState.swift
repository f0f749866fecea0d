import Foundation
import MeshIdentity
import MeshShell

/// What `fsm up` started, saved in `<state dir>/up.json` so `fsm down` stops exactly that.
public struct UpState: Codable, Sendable, Equatable {
    /// One started process. `startTime` (Linux: /proc/PID/stat field 22) tells it apart from a
    /// later process that reuses the pid.
    public struct Started: Codable, Sendable, Equatable {
        public enum Role: String, Codable, Sendable { case controller, sidecar, app, supervisor, interceptor }
        public var role: Role
        /// `namespace/name` for sidecars and apps.
        public var pod: String?
        public var pid: Int32
        public var startTime: UInt64?
        public var log: String
        public var arguments: [String]
        /// The readiness probe `fsm supervise` runs against it (sidecars: `/ready` on the admin
        /// port; apps: `/` on their port); nil for the controller and the supervisor.
        public var probe: Probe?
        /// Times `fsm supervise` started it again after it exited.
        public var restarts: Int?
        /// The container it is in its pod's spec (`--pods netns`).
        public var container: String?
        /// The probes `fsm supervise` runs against it besides `probe` (`--pods netns`: the
        /// container's liveness, readiness and startup probes as its spec has them).
        public var probes: [Probe]?

        public init(role: Role, pod: String?, pid: Int32, startTime: UInt64?, log: String, arguments: [String], probe: Probe? = nil) {
            self.role = role
            self.pod = pod
            self.pid = pid
            self.startTime = startTime
            self.log = log
            self.arguments = arguments
            self.probe = probe
        }

        /// `sidecar of bookstore/bookstore-0`, `controller`, ...
        public var what: String {
            guard let pod else { return role.rawValue }
            guard let container, container != role.rawValue else { return "\(role.rawValue) of \(pod)" }
            return "\(role.rawValue) \(container) of \(pod)"
        }

        /// Every probe `fsm supervise` runs against it.
        public var allProbes: [Probe] { (probe.map { [$0] } ?? []) + (probes ?? []) }
    }

    /// An HTTP GET that answers 2xx or 3xx when the process is ready (or alive, or started).
    public struct Probe: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        public var path: String
        /// What the answer decides; nil: readiness.
        public var kind: ContainerProbe.Kind?
        public var headers: [ContainerProbe.Header]?
        public var timeoutSeconds: Int?

        public init(host: String, port: Int, path: String, kind: ContainerProbe.Kind? = nil, headers: [ContainerProbe.Header]? = nil, timeoutSeconds: Int? = nil) {
            self.host = host
            self.port = port
            self.path = path
            self.kind = kind
            self.headers = headers
            self.timeoutSeconds = timeoutSeconds
        }

        public var effectiveKind: ContainerProbe.Kind { kind ?? .readiness }
    }

    /// How `fsm supervise` watches the pods (the kubelet's probe and CrashLoopBackOff settings).
    public struct SupervisionSettings: Codable, Sendable, Equatable {
        public var probePeriodMilliseconds: Int
        public var failureThreshold: Int
        public var successThreshold: Int
        public var restartBackoffMilliseconds: Int
        public var restartBackoffMaxMilliseconds: Int

        public init(probePeriodMilliseconds: Int = 1000, failureThreshold: Int = 3, successThreshold: Int = 1,
                    restartBackoffMilliseconds: Int = 10_000, restartBackoffMaxMilliseconds: Int = 300_000) {
            self.probePeriodMilliseconds = probePeriodMilliseconds
            self.failureThreshold = failureThreshold
            self.successThreshold = successThreshold
            self.restartBackoffMilliseconds = restartBackoffMilliseconds
            self.restartBackoffMaxMilliseconds = restartBackoffMaxMilliseconds
        }
    }

    /// One row of the table `fsm up` prints.
    public struct PodRow: Codable, Sendable, Equatable {
        public var pod: String
        public var ip: String
        public var app: String?
        public var appURL: String?
        public var adminURL: String
        /// `--pods netns`: the pod's network namespace (its app and admin URLs are on its own loopback).
        public var netns: String?

        public init(pod: String, ip: String, app: String?, appURL: String?, adminURL: String, netns: String? = nil) {
            self.pod = pod
            self.ip = ip
            self.app = app
            self.appURL = appURL
            self.adminURL = adminURL
            self.netns = netns
        }
    }

    public var manifests: String
    public var controllerURL: String
    public var processes: [Started] = []
    public var pods: [PodRow] = []
    /// nil in a state written before `fsm supervise` existed: nothing supervises that mesh.
    public var supervision: SupervisionSettings?
    /// `--pods netns`: the bridge, namespaces and rule made for the pods (each recorded before it is made).
    public var network: PodNetwork?
    /// `--pods netns` under eBPF capture: the pods' cgroups and the interceptor's pin directory.
    public var cgroups: PodCgroups?

    public init(manifests: String, controllerURL: String) {
        self.manifests = manifests
        self.controllerURL = controllerURL
    }

    public static let fileName = "up.json"

    public static func path(in stateDirectory: String) -> String {
        (stateDirectory as NSString).appendingPathComponent(fileName)
    }

    /// The state recorded in a directory; nil when there is none.
    public static func load(from stateDirectory: String) throws -> UpState? {
        let path = path(in: stateDirectory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw UpError.stateUnreadable(path, "cannot read the file") }
        do {
            return try JSONDecoder().decode(UpState.self, from: data)
        } catch {
            throw UpError.stateUnreadable(path, "it is not the JSON fsm up writes (remove it if no fsm up runs on this state dir)")
        }
    }

    /// Written atomically after every start, so a crash leaves a state `fsm down` can use; 0600
    /// whatever the umask (`fsm down` signals the pids it names: nobody else may write it).
    public func save(in stateDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try SecretFile.write(Array(try encoder.encode(self)), to: Self.path(in: stateDirectory))
    }

    public static func remove(from stateDirectory: String) throws {
        let path = path(in: stateDirectory)
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }

    /// The recorded processes that still run.
    public var running: [Started] { processes.filter { DetachedProcess.isRunning(pid: $0.pid, startTime: $0.startTime) } }

    /// The table: pod, IP, app URL, admin URL (and each pod's network namespace with `--pods netns`).
    public var table: String {
        let withNetns = pods.contains { $0.netns != nil }
        let header = ["POD", "IP", "APP", "APP URL", "ADMIN URL"] + (withNetns ? ["NETNS"] : [])
        let rows = pods.map { [$0.pod, $0.ip, $0.app ?? "-", $0.appURL ?? "-", $0.adminURL] + (withNetns ? [$0.netns ?? "-"] : []) }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in i == cells.count - 1 ? cell : cell.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0) }.joined()
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}

public enum UpError: Error, CustomStringConvertible, Equatable {
    case alreadyRunning(stateDirectory: String, pids: [Int32])
    case stateUnreadable(String, String)
    case badManifests([String])
    case noPods(String)
    case spawnFailed(SpawnFailure)
    case notReady(String)
    case noSupervision(String)
    case cannotListen(String, what: String, reason: String)
    /// The pod network (`--pods netns`) cannot be made or removed.
    case network(String)
    /// A pod spec cannot be run on this machine, or the webhook refuses it.
    case badPod(String)
    case needsRoot(String)

    public var description: String {
        switch self {
        case .alreadyRunning(let dir, let pids):
            "the mesh of state dir \(dir) is running (pids \(pids.map(String.init).joined(separator: " "))): run `fsm down --state-dir \(dir)` first"
        case .stateUnreadable(let path, let problem): "cannot read \(path): \(problem)"
        case .badManifests(let errors): "the manifests do not decode; nothing was started:\n" + errors.joined(separator: "\n")
        case .noPods(let dir): "\(dir) declares no pod in a mesh namespace (Deployments, StatefulSets or Pods in namespaces enrolled with flomesh.io/monitored-by)"
        case .spawnFailed(let failure): "cannot start \(failure.executable): \(failure.reason)"
        case .notReady(let what): what
        case .noSupervision(let dir): "the state in \(dir) names no supervision settings: it was not written by this fsm up"
        case .cannotListen(let address, let what, let reason):
            "cannot listen on \(address) (\(what)): \(reason); nothing was started (another fsm up or controller? `fsm down --state-dir DIR` stops an fsm up; --controller-listen and --first-pod-ip choose other addresses)"
        case .network(let problem): "pod network: \(problem)"
        case .badPod(let problem): "\(problem); nothing was started"
        case .needsRoot(let why): why
        }
    }
}
