import ArgumentParser
import Foundation
import Logging
import MeshSidecarCommand
import MeshControl
import MeshControlPlane
import MeshUp

extension UpSettings.PodMode: ExpressibleByArgument {}

/// `fsm up`: the whole mesh of a manifest directory on this machine, as detached processes.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the controller, a sidecar per meshed pod and its demo app, each a process; print the pods and return.",
        discussion: "Logs and the record of what runs go to the state dir; `fsm down` stops it all. Edit the manifests while it runs: the controller re-reads them."
    )

    @Option(help: "Directory of *.yaml/*.yml manifests (e.g. deploy/samples/bookstore).")
    var manifests: String

    @Option(help: "Where logs, the controller's state (CA, credential key, operator token: controller/, 0700), the pods' credentials (pods/, 0700) and the record of started processes go.")
    var stateDir = ".fsm-up"

    @Option(help: "What a pod is: local (a sidecar and an app process on the pod's 127.x address) or netns (the pod as the injection webhook patches it, in a network namespace of its own on a bridge, traffic captured by iptables, or by eBPF when the MeshConfig says interceptionMode: ebpf; root).")
    var pods: UpSettings.PodMode = .local

    @Option(help: "Address of the controller's config API, host:port (default: 127.0.0.1:6060; --pods netns: the bridge's gateway, port 6060).")
    var controllerListen: String?

    @Option(help: "First pod address; each pod gets the next one (default: 127.1.0.10; --pods netns: 10.244.0.10, the bridge's /24 holding the pods).")
    var firstPodIP: String?

    @Option(help: "First service cluster IP (default: 127.2.0.10; --pods netns: 10.96.0.10).")
    var firstServiceIP: String?

    @Option(help: "Namespaces to treat as `fsm namespace add`ed, comma-separated (besides those labelled in the manifests).")
    var meshNamespaces = ""

    @Option(help: "Seconds to wait for the controller, the sidecars (/ready) and the apps.")
    var timeout = 90

    @Option(help: "Seconds between readiness probes of each sidecar (/ready) and app (fsm supervise).")
    var probePeriod = 1.0

    @Option(help: "Failed probes in a row after which a pod is not ready and leaves its services' endpoints.")
    var probeFailureThreshold = 3

    @Option(help: "Seconds before the first restart of a process that exited; doubled for each further one (the kubelet's CrashLoopBackOff).")
    var restartBackoff = 10.0

    @Option(help: "Seconds the restart delay grows to at most.")
    var restartBackoffMax = 300.0

    func validate() throws {
        guard probePeriod >= 0.05, probePeriod <= 3600 else { throw ValidationError("--probe-period must be between 0.05 and 3600 seconds") }
        guard (1...1000).contains(probeFailureThreshold) else { throw ValidationError("--probe-failure-threshold must be between 1 and 1000") }
        guard restartBackoff >= 0.05, restartBackoff <= 3600 else { throw ValidationError("--restart-backoff must be between 0.05 and 3600 seconds") }
        guard restartBackoffMax >= restartBackoff, restartBackoffMax <= 86_400 else {
            throw ValidationError("--restart-backoff-max must be at least --restart-backoff and at most 86400 seconds")
        }
    }

    /// The addresses for the pod mode: the options given, else the mode's defaults (netns: the
    /// controller on the gateway of the pods' /24).
    func addresses() throws -> (controller: (String, Int), firstPod: String, firstService: String) {
        let firstPod = firstPodIP ?? (pods == .netns ? "10.244.0.10" : "127.1.0.10")
        let firstService = firstServiceIP ?? (pods == .netns ? "10.96.0.10" : "127.2.0.10")
        if let controllerListen { return (try DemoAppCommand.hostPort(controllerListen, option: "--controller-listen"), firstPod, firstService) }
        guard pods == .netns else { return (("127.0.0.1", 6060), firstPod, firstService) }
        guard let address = AddressPlan.parse(firstPod) else { throw ValidationError("--first-pod-ip must be an IPv4 address, found \(firstPod)") }
        return ((AddressPlan.format(address & 0xFFFF_FF00 | 1), 6060), firstPod, firstService)
    }

    func run() async throws {
        let ((host, port), firstPod, firstService) = try addresses()
        LoggingSystem.bootstrapStandardError(level: .notice)
        let manifestsPath = URL(fileURLWithPath: manifests).standardizedFileURL.path
        let stateDirectory = URL(fileURLWithPath: stateDir).standardizedFileURL.path
        var settings = UpSettings(
            manifests: manifestsPath, stateDirectory: stateDirectory, executable: try Self.ownExecutable(),
            controllerHost: host, controllerPort: port, firstPodIP: firstPod, firstServiceIP: firstService,
            meshNamespaces: meshNamespaces.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            readyTimeout: .seconds(timeout))
        settings.supervision = UpState.SupervisionSettings(
            probePeriodMilliseconds: Int(probePeriod * 1000), failureThreshold: probeFailureThreshold,
            restartBackoffMilliseconds: Int(restartBackoff * 1000), restartBackoffMaxMilliseconds: Int(restartBackoffMax * 1000))
        settings.pods = pods
        do {
            let state = try await UpLauncher.up(settings)
            print(state.table, terminator: "")
            if pods == .netns {
                print("app and admin URLs are on each pod's own loopback: ip netns exec NETNS curl -s URL (from outside, inbound capture takes the app port to the sidecar, which asks for mTLS)")
            }
            print("controller: \(state.controllerURL)  operator token: \(settings.controllerState.file(ControllerStateDirectory.operatorTokenFile))")
            print("logs: \(stateDirectory)/logs  stop with: fsm down --state-dir \(stateDirectory)")
        } catch let error as UpError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The running `fsm` binary, to start the controller, sidecars and apps with.
    static func ownExecutable() throws -> String {
        if let path = Bundle.main.executableURL?.resolvingSymlinksInPath().path, FileManager.default.isExecutableFile(atPath: path) { return path }
        let first = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        if FileManager.default.isExecutableFile(atPath: first) { return first }
        throw ValidationError("cannot find the fsm executable to start processes with")
    }
}

/// `fsm supervise`: what `fsm up` starts last, detached (the kubelet's role): restarts what exits,
/// probes readiness and reports it to the controller, until `fsm down` stops it.
struct SuperviseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise",
        abstract: "Watch what `fsm up` started: restart what exits (CrashLoopBackOff), probe readiness, report it to the controller.",
        discussion: "Started by `fsm up`; the settings come from the state dir. Runs until SIGTERM (`fsm down` stops it first)."
    )

    @Option(help: "The state dir of `fsm up`.")
    var stateDir = ".fsm-up"

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let stateDirectory = URL(fileURLWithPath: stateDir).standardizedFileURL.path
        let executable = try UpCommand.ownExecutable()
        let logger = Logger(label: "fsm.supervise")
        do {
            try await CommandLifecycle.runUntilSignal(logger: logger) {
                try await UpSupervisor.run(stateDirectory: stateDirectory, executable: executable, logger: logger)
            }
        } catch let error as UpError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `fsm down`: stops what `fsm up` started on a state dir, and only that.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop the processes `fsm up` started (SIGTERM, then SIGKILL after a grace period)."
    )

    @Option(help: "The state dir given to `fsm up`.")
    var stateDir = ".fsm-up"

    @Option(help: "Seconds between SIGTERM and SIGKILL.")
    var grace = 10

    /// One line per recorded process: what it was, its pid, and what stopping it came to.
    static func summary(_ outcomes: [(process: UpState.Started, outcome: DetachedProcess.StopOutcome)], grace: Int) -> String {
        var text = ""
        for (process, outcome) in outcomes {
            let detail = outcome == .killed ? "killed (SIGKILL after \(grace) s)" : outcome.rawValue
            text += "\(detail): \(process.what) (pid \(process.pid))\n"
        }
        let stopped = outcomes.filter { $0.outcome != .notRunning }.count
        text += "stopped \(stopped) of \(outcomes.count) processes started by fsm up\n"
        return text
    }

    func run() async throws {
        let stateDirectory = URL(fileURLWithPath: stateDir).standardizedFileURL.path
        do {
            guard let outcomes = try await UpLauncher.down(stateDirectory: stateDirectory, grace: .seconds(grace)) else {
                print("nothing to stop: no \(UpState.fileName) in \(stateDirectory)")
                return
            }
            print(Self.summary(outcomes, grace: grace), terminator: "")
            print("logs stay in \(stateDirectory)/logs")
        } catch let error as UpError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
