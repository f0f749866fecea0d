import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshModel
import MeshRuntime
import MeshShell
import NIOCore

/// What `fsm up` needs to know.
public struct UpSettings: Sendable {
    public var manifests: String
    public var stateDirectory: String
    /// The `fsm` executable to start the controller, sidecars and apps with.
    public var executable: String
    public var controllerHost: String
    public var controllerPort: Int
    public var firstPodIP: String
    public var firstServiceIP: String
    public var meshNamespaces: [String]
    /// How long to wait for the controller, every sidecar's /ready and every app.
    public var readyTimeout: Duration
    public var sidecarOutboundPort = 15001
    /// The sidecars' admin port, on their (loopback) pod IPs: the table's admin URLs and the readiness checks.
    public var sidecarAdminPort = 15000
    /// How `fsm supervise` probes and restarts what `fsm up` started.
    public var supervision = UpState.SupervisionSettings()
    /// What a pod is: processes on 127.x addresses, or what the injection webhook makes of it in a network namespace.
    public var pods = PodMode.local

    /// `fsm up --pods`.
    public enum PodMode: String, Sendable, CaseIterable {
        /// Each pod is a sidecar and an app process on the pod's 127.x address; apps address their sidecar.
        case local
        /// Each pod is its spec as the injection webhook patches it, run in a network namespace of
        /// its own on a bridge: the init container's capture rules, the sidecar as uid 1500, the app (root).
        case netns
    }

    public init(manifests: String, stateDirectory: String, executable: String, controllerHost: String = "127.0.0.1", controllerPort: Int = 6060,
                firstPodIP: String = "127.1.0.10", firstServiceIP: String = "127.2.0.10", meshNamespaces: [String] = [], readyTimeout: Duration = .seconds(90)) {
        self.manifests = manifests
        self.stateDirectory = stateDirectory
        self.executable = executable
        self.controllerHost = controllerHost
        self.controllerPort = controllerPort
        self.firstPodIP = firstPodIP
        self.firstServiceIP = firstServiceIP
        self.meshNamespaces = meshNamespaces
        self.readyTimeout = readyTimeout
    }

    var controllerURL: String { "http://\(controllerHost):\(controllerPort)" }

    /// The controller's state directory (CA, credential key, operator token), 0700.
    public var controllerState: ControllerStateDirectory { Self.controllerState(in: stateDirectory) }

    /// The controller's state directory inside an `fsm up` state directory.
    public static func controllerState(in stateDirectory: String) -> ControllerStateDirectory {
        ControllerStateDirectory(path: (stateDirectory as NSString).appendingPathComponent("controller"))
    }

    /// The 0700 directory holding a pod's credential (0600) for its sidecar.
    public func podDirectory(_ pod: String) -> String {
        (stateDirectory as NSString).appendingPathComponent("pods/\(pod.replacingOccurrences(of: "/", with: "_"))")
    }

    public func credentialFile(_ pod: String) -> String {
        (podDirectory(pod) as NSString).appendingPathComponent("credential")
    }
}

/// `fsm up` / `fsm down`: the controller, one sidecar per meshed pod and its demo app, each a
/// detached process logging to `<state dir>/logs/`, recorded in `<state dir>/up.json`.
///
/// Secrets: the controller keeps its CA, credential key and operator token in
/// `<state dir>/controller` (0700); each `fsm up` starts with a new credential key (so credentials
/// of an earlier run stop working), mints each meshed pod's credential into
/// `<state dir>/pods/<ns>_<pod>/credential` (0600 in a 0700 directory) and starts its sidecar with
/// `--credential-file`; `fsm up` itself reads the controller's `/v1/pods` as the operator.
public enum UpLauncher {
    /// Starts everything and waits until it is ready. On any failure what was started is stopped
    /// again and the state removed, so nothing is left running.
    public static func up(_ settings: UpSettings, logger: Logger = Logger(label: "fsm.up")) async throws -> UpState {
        let stateDirectory = settings.stateDirectory
        if settings.pods == .netns { try checkRoot("fsm up --pods netns", why: "it makes network namespaces, a bridge, veth pairs and nat rules, and runs each sidecar as uid 1500") }
        if let previous = try UpState.load(from: stateDirectory) {
            let running = previous.running
            guard running.isEmpty else { throw UpError.alreadyRunning(stateDirectory: stateDirectory, pids: running.map(\.pid)) }
            logger.info("removing the state of a mesh that is no longer running", metadata: ["state_dir": "\(stateDirectory)"])
            try removeNetwork(of: previous)
            try UpState.remove(from: stateDirectory)
        }
        let (pods, cluster) = try plannedCluster(settings)
        if settings.pods == .local { try checkAddresses(settings, pods: pods) }
        // Every pod as the kubelet will run it, before anything is made (a pod that cannot run is one line).
        let netnsPods = settings.pods == .netns ? try admitPods(settings, pods: pods, cluster: cluster, logger: logger) : nil
        let logs = (stateDirectory as NSString).appendingPathComponent("logs")
        // New directories 0700 whatever the umask; one the user named and made is kept as it is.
        try SecretFile.createDirectory(stateDirectory, narrowExisting: false)
        try SecretFile.createDirectory(logs)
        var state = UpState(manifests: settings.manifests, controllerURL: settings.controllerURL)
        state.supervision = settings.supervision
        // Claim the state dir before starting anything: a second `fsm up` now sees a state.
        try state.save(in: stateDirectory)
        do {
            if let netnsPods {
                try await startNetns(settings, plan: netnsPods, logs: logs, state: &state, logger: logger)
            } else {
                try await start(settings, pods: pods, logs: logs, state: &state, logger: logger)
            }
            return state
        } catch {
            logger.error("fsm up failed; stopping what it started", metadata: ["error": "\(error)"])
            let supervisors = state.processes.filter { $0.role == .supervisor }
            await DetachedProcess.stop(supervisors, grace: .seconds(10))
            await DetachedProcess.stop(Array(state.processes.filter { $0.role != .supervisor }.reversed()), grace: .seconds(10))
            // The network stays recorded (and the state with it) if it cannot all be removed, for `fsm down`.
            if (try? removeNetwork(of: state)) != nil { try? UpState.remove(from: stateDirectory) }
            throw error
        }
    }

    /// Stops what the state dir records (SIGTERM, SIGKILL after `grace`) and removes the state:
    /// the supervisor first (so that it restarts nothing more), then, from the state as it left
    /// it, the apps, the sidecars and the controller (reverse start order). Returns what happened
    /// to each recorded process, in the order they were stopped; nil when there was no state.
    @discardableResult
    public static func down(stateDirectory: String, grace: Duration = .seconds(10)) async throws -> [(process: UpState.Started, outcome: DetachedProcess.StopOutcome)]? {
        guard let before = try UpState.load(from: stateDirectory) else { return nil }
        if before.network != nil { try checkRoot("fsm down of an fsm up --pods netns", why: "it removes the pods' network namespaces, veth pairs, bridge and FORWARD rule") }
        let supervisors = before.processes.filter { $0.role == .supervisor }
        var outcomes = await DetachedProcess.stop(supervisors, grace: grace)
        let state = (try? UpState.load(from: stateDirectory)) ?? before
        let others = state.processes.filter { $0.role != .supervisor }
        outcomes += await DetachedProcess.stop(Array(others.reversed()), grace: grace)
        try removeNetwork(of: state)
        try UpState.remove(from: stateDirectory)
        return outcomes
    }

    /// Removes the pod network a state records (nothing for local mode); throws, keeping the state,
    /// when a piece is still there afterwards.
    static func removeNetwork(of state: UpState) throws {
        guard let network = state.network else { return }
        let left = (state.cgroups?.teardown() ?? []) + network.teardown()
        guard left.isEmpty else {
            throw UpError.network("could not remove \(left.joined(separator: ", ")); the state keeps them: run `fsm down` again as root")
        }
    }

    /// `--pods netns` and `fsm down` of such a mesh make and remove namespaces, links and rules.
    static func checkRoot(_ what: String, why: String) throws {
        let uid = geteuid()
        guard uid == 0 else { throw UpError.needsRoot("\(what) needs root: \(why) (running as uid \(uid))") }
    }

    /// A pod as the manifests declare it, with the address the controller's plan gives it.
    struct PodPlan {
        var key: String
        var pod: Pod
        var app: PlannedApp?
    }

    /// Decodes the manifests (errors: `file:line:column: ...`) and expands them like the controller does.
    static func plannedPods(_ settings: UpSettings) throws -> [PodPlan] {
        try plannedCluster(settings).pods
    }

    /// The pods, and the cluster they were expanded in (its namespaces, services and MeshConfig).
    static func plannedCluster(_ settings: UpSettings) throws -> (pods: [PodPlan], cluster: LocalCluster) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: settings.manifests, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UpError.badManifests(["\(settings.manifests): not a directory"])
        }
        guard let firstPod = AddressPlan.parse(settings.firstPodIP), let firstService = AddressPlan.parse(settings.firstServiceIP) else {
            throw UpError.badManifests(["--first-pod-ip and --first-service-ip must be IPv4 addresses"])
        }
        var source = ManifestClusterSource(path: settings.manifests, plan: AddressPlan(firstPod: firstPod, firstService: firstService),
                                           meshNamespaces: Set(settings.meshNamespaces))
        _ = source.poll()
        guard source.problems.isEmpty else { throw UpError.badManifests(source.problems) }
        let pods = source.cluster.pods.map { PodPlan(key: "\($0.metadata.namespace)/\($0.metadata.name)", pod: $0, app: PlannedApp(pod: $0)) }
        guard !pods.isEmpty else { throw UpError.noPods(settings.manifests) }
        guard pods.count <= maxPods else {
            throw UpError.badManifests(["\(settings.manifests): \(pods.count) pods; fsm up runs at most \(maxPods) (each pod is a sidecar and an app process)"])
        }
        return (pods, source.cluster)
    }

    /// Pods one `fsm up` runs: each is two processes (a sidecar and an app) on this machine.
    public static let maxPods = 100
    /// The sidecar's inbound port (`fsm sidecar`'s default, which `fsm up` keeps).
    static let sidecarInboundPort = 15003

    /// Every address `fsm up` is about to listen on is free (the controller's, and each pod's
    /// sidecar and app ports), so a busy port is one line before anything starts.
    static func checkAddresses(_ settings: UpSettings, pods: [PodPlan]) throws {
        var wanted: [(what: String, host: String, port: Int)] = [("the controller", settings.controllerHost, settings.controllerPort)]
        for plan in pods {
            guard let ip = plan.pod.podIP else { continue }
            for port in [settings.sidecarOutboundPort, sidecarInboundPort, settings.sidecarAdminPort] {
                wanted.append(("the sidecar of \(plan.key)", ip, port))
            }
            if let app = plan.app { wanted.append(("the \(app.kind) app of \(plan.key)", ip, app.port)) }
        }
        for address in wanted {
            guard let code = ListenProbe.bindError(host: address.host, port: address.port) else { continue }
            throw UpError.cannotListen("\(address.host):\(address.port)", what: address.what, reason: SystemErrorText.describe(errno: code))
        }
    }

    private static func start(_ settings: UpSettings, pods: [PodPlan], logs: String, state: inout UpState, logger: Logger) async throws {
        try SecretFile.createDirectory(settings.controllerState.path)
        let credentials = try settings.controllerState.rotateCredentialKey()
        var generator = SystemRandomNumberGenerator()
        let operatorToken = try credentials.mint(.operator, using: &generator).token
        let deadline = ContinuousClock.now + settings.readyTimeout
        func launch(_ role: UpState.Started.Role, pod: String?, name: String, _ arguments: [String], probe: UpState.Probe? = nil) throws -> UpState.Started {
            try Self.launch(UpState.Started(role: role, pod: pod, pid: 0, startTime: nil, log: (logs as NSString).appendingPathComponent("\(name).log"),
                                            arguments: arguments, probe: probe), settings: settings, state: &state, logger: logger)
        }
        let controller = try launch(.controller, pod: nil, name: "controller", controllerArguments(settings))
        let meshed = try await waitForMeshedPods(settings, controller: controller, operatorToken: operatorToken, deadline: deadline)

        // Sidecars first, and ready (a config from the controller) before the apps send their first request.
        var rows: [(plan: PodPlan, row: UpState.PodRow)] = []
        var sidecars: [(what: String, process: UpState.Started, ip: String)] = []
        for plan in pods {
            guard let info = meshed[plan.key] else {
                logger.notice("pod not meshed: not started", metadata: ["pod": "\(plan.key)"])
                continue
            }
            try writeCredential(for: plan.key, settings: settings, credentials: credentials)
            // Each sidecar keeps its last config and certificate in its pod's 0700 directory, so
            // that a restart while the controller is away still serves.
            let cache = (settings.stateDirectory as NSString).appendingPathComponent("pods/\(logName(plan.key))/cache")
            let sidecar = try launch(.sidecar, pod: plan.key, name: "\(logName(plan.key)).sidecar", [
                "sidecar", "--controller", settings.controllerURL, "--pod", plan.key, "--pod-ip", info.ip,
                "--credential-file", settings.credentialFile(plan.key),
                "--outbound-port", String(settings.sidecarOutboundPort), "--admin-port", String(settings.sidecarAdminPort),
                "--cache-dir", cache,
            ], probe: UpState.Probe(host: info.ip, port: settings.sidecarAdminPort, path: "/ready"))
            sidecars.append(("sidecar of \(plan.key)", sidecar, info.ip))
            rows.append((plan, UpState.PodRow(pod: plan.key, ip: info.ip, app: nil, appURL: nil, adminURL: "http://\(info.ip):\(settings.sidecarAdminPort)/stats")))
        }
        for sidecar in sidecars {
            _ = try await waitRestarting(sidecar.what, process: sidecar.process, settings: settings, state: &state, deadline: deadline, logger: logger) {
                (try? await MeshHTTP.request(host: sidecar.ip, port: settings.sidecarAdminPort, path: "/ready", timeout: .seconds(2)).status) == 200
            }
        }
        var apps: [(what: String, process: UpState.Started, ip: String, port: Int)] = []
        for (plan, var row) in rows {
            if let app = plan.app {
                let process = try launch(.app, pod: plan.key, name: "\(logName(plan.key)).\(app.kind)", app.arguments(podIP: row.ip, proxyPort: settings.sidecarOutboundPort),
                                         probe: UpState.Probe(host: row.ip, port: app.port, path: "/"))
                apps.append(("\(app.kind) app of \(plan.key)", process, row.ip, app.port))
                row.app = app.kind
                row.appURL = "http://\(row.ip):\(app.port)/"
            }
            state.pods.append(row)
        }
        try state.save(in: settings.stateDirectory)
        for app in apps {
            _ = try await waitRestarting(app.what, process: app.process, settings: settings, state: &state, deadline: deadline, logger: logger) {
                (try? await MeshHTTP.request(host: app.ip, port: app.port, path: "/", timeout: .seconds(2)).status) == 200
            }
        }
        try await startSupervisor(settings, logs: logs, state: &state, deadline: deadline)
    }

    /// Starts `process` (its role, pod, log and arguments; the pid is filled in) and records it in the state.
    static func launch(_ process: UpState.Started, settings: UpSettings, state: inout UpState, logger: Logger) throws -> UpState.Started {
        var started = process
        started.pid = try DetachedProcess.spawn(settings.executable, process.arguments, log: process.log)
        started.startTime = DetachedProcess.startTime(pid: started.pid)
        state.processes.append(started)
        try state.save(in: settings.stateDirectory)
        logger.info("started", metadata: ["what": "\(started.what)", "pid": "\(started.pid)", "log": "\(started.log)"])
        return started
    }

    /// `fsm controller` for these settings: it runs the mesh CA (kept in its state dir) and issues
    /// each sidecar its certificate.
    static func controllerArguments(_ settings: UpSettings, admittedPods: String? = nil) -> [String] {
        var arguments = ["controller", "--manifests", settings.manifests, "--listen", "\(settings.controllerHost):\(settings.controllerPort)",
                         "--first-pod-ip", settings.firstPodIP, "--first-service-ip", settings.firstServiceIP, "--state-dir", settings.controllerState.path]
        if !settings.meshNamespaces.isEmpty { arguments += ["--mesh-namespaces", settings.meshNamespaces.joined(separator: ",")] }
        if let admittedPods { arguments += ["--admitted-pods", admittedPods] }
        return arguments
    }

    /// `fsm supervise` (the kubelet's role) takes over from here: it records itself in the state,
    /// and from then on only it writes the state (pids of what it restarts).
    static func startSupervisor(_ settings: UpSettings, logs: String, state: inout UpState, deadline: ContinuousClock.Instant) async throws {
        let log = (logs as NSString).appendingPathComponent("supervisor.log")
        let arguments = ["supervise", "--state-dir", settings.stateDirectory]
        let pid = try DetachedProcess.spawn(settings.executable, arguments, log: log)
        let started = UpState.Started(role: .supervisor, pod: nil, pid: pid, startTime: DetachedProcess.startTime(pid: pid), log: log, arguments: arguments)
        // Recorded here too, so that a supervisor that dies before it registers is still stopped.
        var recorded = state
        recorded.processes.append(started)
        try await waitUntil("supervisor", process: started, deadline: deadline) {
            (try? UpState.load(from: settings.stateDirectory))?.processes.contains { $0.role == .supervisor && $0.pid == pid } ?? false
        } onFailure: {
            state = recorded
        }
        state = (try UpState.load(from: settings.stateDirectory)) ?? recorded
    }

    /// Mints the pod's credential into its own 0700 directory (the file 0600 from creation).
    private static func writeCredential(for pod: String, settings: UpSettings, credentials: CredentialAuthority) throws {
        let parts = pod.split(separator: "/", maxSplits: 1).map(String.init)
        var generator = SystemRandomNumberGenerator()
        let credential = try credentials.mint(.pod(namespace: parts[0], name: parts[1]), using: &generator)
        try SecretFile.createDirectory(settings.podDirectory(pod))
        try SecretFile.write(credential.token + "\n", to: settings.credentialFile(pod))
    }

    /// `bookstore/bookstore-0` → `bookstore_bookstore-0` (log file names).
    static func logName(_ pod: String) -> String { pod.replacingOccurrences(of: "/", with: "_") }

    struct MeshedPod {
        var ip: String
        var identity: String
    }

    /// The controller's `/v1/pods`: every meshed pod with its address and identity.
    static func waitForMeshedPods(_ settings: UpSettings, controller: UpState.Started, operatorToken: String,
                                          deadline: ContinuousClock.Instant) async throws -> [String: MeshedPod] {
        var found: [String: MeshedPod] = [:]
        try await waitUntil("controller at \(settings.controllerURL)", process: controller, deadline: deadline) {
            guard let response = try? await MeshHTTP.request(host: settings.controllerHost, port: settings.controllerPort, path: "/v1/pods",
                                                                     headers: [("authorization", "Bearer \(operatorToken)")], timeout: .seconds(2)),
                  response.status == 200, let value = try? JSONValue(parsing: response.body), case .array(let pods) = value else { return false }
            for pod in pods {
                guard case .string(let namespace)? = pod["namespace"], case .string(let name)? = pod["name"],
                      case .string(let ip)? = pod["ip"], case .string(let identity)? = pod["identity"] else { continue }
                found["\(namespace)/\(name)"] = MeshedPod(ip: ip, identity: identity)
            }
            return true
        }
        return found
    }

    /// How waiting for a process to be ready ended.
    enum Wait: Equatable {
        case ready
        /// It exited first: how (`exit status N`, `signal N (NAME)`), when this process is its parent.
        case exited(String?)
        case timedOut
    }

    /// Polls `check` every 250 ms until it holds, the process exits or the deadline passes.
    static func poll(_ process: UpState.Started, deadline: ContinuousClock.Instant, _ check: () async -> Bool) async throws -> Wait {
        while true {
            if await check() { return .ready }
            guard DetachedProcess.isRunning(pid: process.pid, startTime: process.startTime) else {
                return .exited(DetachedProcess.reapExit(pid: process.pid))
            }
            guard ContinuousClock.now < deadline else { return .timedOut }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Polls `check` every 250 ms until it holds; fails (after `onFailure`) when the process exits
    /// or the deadline passes.
    static func waitUntil(_ what: String, process: UpState.Started, deadline: ContinuousClock.Instant, _ check: () async -> Bool,
                                  onFailure: () -> Void = {}) async throws {
        let outcome = try await poll(process, deadline: deadline, check)
        guard outcome != .ready else { return }
        onFailure()
        throw notReady(what, process: process, outcome)
    }

    /// Times a container of a pod that exits before it is ready is started again, as the
    /// kubelet restarts a container (restartPolicy Always) and `fsm supervise` does later.
    public static let startupRestarts = 2

    /// `waitUntil` for a container of a pod: one that exits first is started again (its log
    /// appended to, the state updated), up to `startupRestarts` times; returns the process that
    /// became ready.
    public static func waitRestarting(_ what: String, process: UpState.Started, settings: UpSettings, state: inout UpState, deadline: ContinuousClock.Instant,
                               logger: Logger, _ check: () async -> Bool) async throws -> UpState.Started {
        var current = process
        while true {
            let outcome = try await poll(current, deadline: deadline, check)
            guard case .exited(let how) = outcome, (current.restarts ?? 0) < startupRestarts else {
                if outcome == .ready { return current }
                throw notReady(what, process: current, outcome)
            }
            logger.warning("exited before it was ready; starting it again", metadata: [
                "what": "\(current.what)", "pid": "\(current.pid)", "exit": "\(how ?? "unknown")", "log": "\(current.log)",
            ])
            current = try relaunch(current, settings: settings, state: &state)
        }
    }

    /// Starts `process` again with its arguments and log; the state records the new pid in place of the old.
    private static func relaunch(_ process: UpState.Started, settings: UpSettings, state: inout UpState) throws -> UpState.Started {
        var again = process
        again.pid = try DetachedProcess.spawn(settings.executable, process.arguments, log: process.log)
        again.startTime = DetachedProcess.startTime(pid: again.pid)
        again.restarts = (process.restarts ?? 0) + 1
        if let index = state.processes.firstIndex(where: { $0.pid == process.pid && $0.startTime == process.startTime }) {
            state.processes[index] = again
        } else {
            state.processes.append(again)
        }
        try state.save(in: settings.stateDirectory)
        return again
    }

    private static func notReady(_ what: String, process: UpState.Started, _ outcome: Wait) -> UpError {
        let how = if case .exited(let how?) = outcome { " (\(how))" } else { "" }
        let restarted = process.restarts.map { " after \($0) restart\($0 == 1 ? "" : "s")" } ?? ""
        let verb = outcome == .timedOut ? "is not ready in time" : "exited\(how)\(restarted)"
        return UpError.notReady("\(what) \(verb); its log \(process.log) ends with:\n\(tail(of: process.log))")
    }

    static func tail(of path: String, lines: Int = 15) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
