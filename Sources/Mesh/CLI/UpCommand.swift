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

    func run() async throws {
        let (host, port) = try DemoAppCommand.hostPort(controllerListen, option: "--controller-listen")
        LoggingSystem.bootstrapStandardError(level: .notice)
        let manifestsPath = URL(fileURLWithPath: manifests).standardizedFileURL.path
        let stateDirectory = URL(fileURLWithPath: stateDir).standardizedFileURL.path
        let settings = UpSettings(
            manifests: manifestsPath, stateDirectory: stateDirectory, executable: try Self.ownExecutable(),
            controllerHost: host, controllerPort: port, firstPodIP: firstPodIP, firstServiceIP: firstServiceIP,
            meshNamespaces: meshNamespaces.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            readyTimeout: .seconds(timeout))
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

    func run() async throws {
        let stateDirectory = URL(fileURLWithPath: stateDir).standardizedFileURL.path
        do {
            guard let stopped = try await UpLauncher.down(stateDirectory: stateDirectory, grace: .seconds(grace)) else {
                print("nothing to stop: no \(UpState.fileName) in \(stateDirectory)")
                return
            }
            let (state, killed) = stopped
            print("stopped \(state.processes.count) processes started by fsm up\(killed.isEmpty ? "" : " (\(killed.count) needed SIGKILL)"); logs stay in \(stateDirectory)/logs")
        } catch let error as UpError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
