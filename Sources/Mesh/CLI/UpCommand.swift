import ArgumentParser
import Foundation
import Logging
import MeshControlPlane
import MeshUp

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

    @Option(help: "Address of the controller's config API, host:port.")
    var controllerListen = "127.0.0.1:6060"

    @Option(help: "First pod address (each pod gets the next one; its sidecar and app bind it).")
    var firstPodIP = "127.1.0.10"

    @Option(help: "First service cluster IP.")
    var firstServiceIP = "127.2.0.10"

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

    func run() async throws {
        let (host, port) = try DemoAppCommand.hostPort(controllerListen, option: "--controller-listen")
        LoggingSystem.bootstrapStandardError(level: .notice)
        let manifestsPath = URL(fileURLWithPath: manifests).standardizedFileURL.path
        let stateDirectory = URL(fileURLWithPath: stateDir).standardizedFileURL.path
        var settings = UpSettings(
            manifests: manifestsPath, stateDirectory: stateDirectory, executable: try Self.ownExecutable(),
            controllerHost: host, controllerPort: port, firstPodIP: firstPodIP, firstServiceIP: firstServiceIP,
            meshNamespaces: meshNamespaces.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            readyTimeout: .seconds(timeout))
        settings.supervision = UpState.SupervisionSettings(
            probePeriodMilliseconds: Int(probePeriod * 1000), failureThreshold: probeFailureThreshold,
            restartBackoffMilliseconds: Int(restartBackoff * 1000), restartBackoffMaxMilliseconds: Int(restartBackoffMax * 1000))
        do {
            let state = try await UpLauncher.up(settings)
            print(state.table, terminator: "")
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
        let task = Task { try await UpSupervisor.run(stateDirectory: stateDirectory, executable: executable, logger: Logger(label: "fsm.supervise")) }
        let stop = Task {
            await TerminationSignal.wait()
            task.cancel()
        }
        do {
            try await task.value
            stop.cancel()
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
