import Foundation
import Logging
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshModel
import MeshRuntime
import NIOCore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#endif

/// `fsm supervise --state-dir DIR`: the kubelet's role for what `fsm up` started, as a detached
/// process that outlives `fsm up`. It records itself in the state, then until SIGTERM (`fsm down`):
/// restarts each process that exited with the same arguments and log (`Supervision`: kubelet's
/// CrashLoopBackOff), probes each sidecar's `/ready` and each app's port every period, and tells
/// the controller each pod's readiness (`PUT /v1/pods/<ns>/<pod>/status`), so a pod whose sidecar
/// or app is not ready leaves its services' endpoints until it is ready again. After its start it
/// is the only writer of the state file (new pids and restart counts).
public enum UpSupervisor {
    /// How often exits are looked for (a probe period may be longer).
    static let tick = Duration.milliseconds(100)

    /// Runs until the task is cancelled (SIGTERM); `executable` is the `fsm` to start processes with.
    public static func run(stateDirectory: String, executable: String, logger: Logger) async throws {
        guard var state = try UpState.load(from: stateDirectory) else { throw UpError.stateUnreadable(UpState.path(in: stateDirectory), "no state: run fsm up first") }
        guard let settings = state.supervision else { throw UpError.noSupervision(stateDirectory) }
        try register(in: &state, stateDirectory: stateDirectory)
        let members = state.processes.enumerated().filter { $0.element.role != .supervisor }
        var supervision = Supervision(members: members.map { supervisionMember(for: $0.element) }, probe: settings.probe, backoff: settings.backoff, now: .zero)
        let indices = members.map(\.offset)
        let controller = URLComponents(string: state.controllerURL)
        let origin = ContinuousClock.now
        func now() -> MeshDuration { MeshDuration(nanoseconds: nanoseconds(ContinuousClock.now - origin)) }
        var nextProbe = origin + .milliseconds(settings.probePeriodMilliseconds)
        var terminated: Set<Int32> = []
        logger.notice("supervising", metadata: ["processes": "\(members.count)", "pods": "\(supervision.pods.count)"])

        while !Task.isCancelled {
            DetachedProcess.reapExitedChildren()
            for (member, index) in indices.enumerated() where supervision.members[member].running {
                let process = state.processes[index]
                guard !DetachedProcess.isRunning(pid: process.pid, startTime: process.startTime) else { continue }
                let delay = supervision.exited(member, at: now())
                logger.warning("process exited; restarting after backoff", metadata: [
                    "what": "\(process.what)", "pid": "\(process.pid)", "delay": "\(delay)", "restarts": "\(supervision.members[member].restarts)",
                ])
            }
            for member in supervision.due(at: now()) {
                restart(indices[member], restarts: supervision.members[member].restarts, executable: executable, state: &state,
                        stateDirectory: stateDirectory, logger: logger)
                supervision.started(member, at: now())
            }
            if ContinuousClock.now >= nextProbe {
                nextProbe = ContinuousClock.now + .milliseconds(settings.probePeriodMilliseconds)
                await probeAll(&supervision, processes: indices.map { state.processes[$0] }, timeout: settings.probeTimeout, terminated: &terminated, logger: logger)
            }
            if let host = controller?.host, let port = controller?.port {
                await report(&supervision, host: host, port: port, operatorToken: operatorToken(stateDirectory), logger: logger)
            }
            try? await Task.sleep(for: tick)
        }
        logger.notice("supervisor stopping; the processes it watched keep running")
    }

    /// Adds this process to the state (`fsm up` waits for that before it returns).
    private static func register(in state: inout UpState, stateDirectory: String) throws {
        let pid = getpid()
        guard !state.processes.contains(where: { $0.role == .supervisor && $0.pid == pid }) else { return }
        let log = (stateDirectory as NSString).appendingPathComponent("logs/supervisor.log")
        state.processes.append(UpState.Started(role: .supervisor, pod: nil, pid: pid, startTime: DetachedProcess.startTime(pid: pid), log: log,
                                               arguments: Array(CommandLine.arguments.dropFirst())))
        try state.save(in: stateDirectory)
    }

    static func supervisionMember(for process: UpState.Started) -> Supervision.Member {
        let kind: Supervision.Member.Kind = switch process.role {
        case .controller, .supervisor, .interceptor: .controller
        case .sidecar: .sidecar
        case .app: .app
        }
        let kinds = Set(process.allProbes.map(\.effectiveKind))
        return Supervision.Member(kind: kind, pod: process.pod, probed: kinds.contains(.readiness), livenessProbed: kinds.contains(.liveness),
                                  startupProbed: kinds.contains(.startup))
    }

    /// Starts a process again with its arguments and log, and records the new pid in the state.
    private static func restart(_ index: Int, restarts: Int, executable: String, state: inout UpState, stateDirectory: String, logger: Logger) {
        var process = state.processes[index]
        do {
            let pid = try DetachedProcess.spawn(executable, process.arguments, log: process.log)
            process.pid = pid
            process.startTime = DetachedProcess.startTime(pid: pid)
            process.restarts = restarts
            logger.notice("process restarted", metadata: ["what": "\(process.what)", "pid": "\(pid)", "restarts": "\(restarts)"])
        } catch {
            // The next look finds it not running and backs off again.
            logger.error("restart failed", metadata: ["what": "\(process.what)", "error": "\(error)"])
            return
        }
        state.processes[index] = process
        do {
            try state.save(in: stateDirectory)
        } catch {
            logger.error("cannot save the state", metadata: ["error": "\(error)"])
        }
    }

    /// Runs every probe due at once; logs each change of a pod's readiness, and stops a process
    /// whose liveness or startup probe failed too often (SIGTERM; SIGKILL when it is still there at
    /// the next such verdict), so that the backoff restarts it.
    private static func probeAll(_ supervision: inout Supervision, processes: [UpState.Started], timeout: Duration, terminated: inout Set<Int32>, logger: Logger) async {
        var due: [(member: Int, probe: UpState.Probe)] = []
        for (member, process) in processes.enumerated() {
            let kinds = supervision.probesDue(member)
            due += process.allProbes.filter { kinds.contains($0.effectiveKind) }.map { (member, $0) }
        }
        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            for (index, item) in due.enumerated() {
                group.addTask { (index, await run(item.probe, timeout: timeout)) }
            }
            var results: [(Int, Bool)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        for (index, success) in results {
            let (member, probe) = due[index]
            switch supervision.probed(member, probe.effectiveKind, success: success) {
            case .none:
                break
            case .readiness(let pod, let ready):
                logger.notice("pod readiness changed", metadata: ["pod": "\(pod)", "ready": "\(ready)"])
            case .restart:
                let process = processes[member]
                let signal = terminated.contains(process.pid) ? SIGKILL : SIGTERM
                logger.warning("probe failed too often; stopping the process so that it restarts", metadata: [
                    "what": "\(process.what)", "probe": "\(probe.effectiveKind.rawValue)", "pid": "\(process.pid)", "signal": "\(signal)",
                ])
                if DetachedProcess.isRunning(pid: process.pid, startTime: process.startTime) { kill(process.pid, signal) }
                terminated.insert(process.pid)
            }
        }
    }

    /// One HTTP GET probe: 2xx or 3xx within the timeout is a success (the kubelet's rule).
    private static func run(_ probe: UpState.Probe, timeout: Duration) async -> Bool {
        let limit = probe.timeoutSeconds.map { Duration.seconds($0) } ?? timeout
        let headers = (probe.headers ?? []).map { ($0.name, $0.value) }
        // The kubelet opens a connection per probe: a pooled one would hide a listener that stopped accepting.
        let answer = try? await MeshHTTP.request(host: probe.host, port: probe.port, path: probe.path, headers: headers + [("connection", "close")],
                                                 timeout: .nanoseconds(nanoseconds(min(limit, timeout))))
        return answer.map { (200..<400).contains($0.status) } ?? false
    }

    /// The operator credential the controller wrote at its (latest) start: readiness reports need it.
    private static func operatorToken(_ stateDirectory: String) -> String? {
        let path = UpSettings.controllerState(in: stateDirectory).file(ControllerStateDirectory.operatorTokenFile)
        return (try? SecretFile.read(path)).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Tells the controller what it does not hold yet; a refused or failed report is tried again next tick.
    private static func report(_ supervision: inout Supervision, host: String, port: Int, operatorToken: String?, logger: Logger) async {
        guard let operatorToken, !supervision.pendingReports.isEmpty else { return }
        for (pod, ready) in supervision.pendingReports {
            let body = ready ? #"{"ready":true}"# : #"{"ready":false}"#
            let headers = [("content-type", "application/json"), ("authorization", "Bearer \(operatorToken)")]
            let answer = try? await MeshHTTP.request(host: host, port: port, method: .PUT, path: "/v1/pods/\(pod)/status",
                                                             headers: headers, body: body, timeout: .seconds(2))
            guard answer?.status == 200 else { continue }
            supervision.reported(pod: pod, ready: ready)
            logger.info("pod readiness reported", metadata: ["pod": "\(pod)", "ready": "\(ready)"])
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}

extension UpState.SupervisionSettings {
    var probe: ReadinessProbe.Settings {
        ReadinessProbe.Settings(period: .milliseconds(Int64(probePeriodMilliseconds)), failureThreshold: failureThreshold, successThreshold: successThreshold)
    }

    var backoff: CrashLoopBackoff.Settings {
        CrashLoopBackoff.Settings(base: .milliseconds(Int64(restartBackoffMilliseconds)), cap: .milliseconds(Int64(restartBackoffMaxMilliseconds)))
    }

    /// A probe answers within the period (at most 1 s, the kubelet's default timeout).
    var probeTimeout: Duration { .milliseconds(min(1000, probePeriodMilliseconds)) }
}
