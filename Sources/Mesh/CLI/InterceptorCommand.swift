import ArgumentParser
import Foundation
import Logging
import MeshSidecarCommand
import MeshInterceptor
import MeshInterceptorBPF
import MeshInterceptorPods
import MeshManifest
import MeshModel
import MeshRedirect
import MeshShell
import Synchronization

/// `fsm interceptor`: the node agent of eBPF capture (the guides' fsm-interceptor). Loads the
/// capture programs, pins them under --pin-dir, attaches them to the pods of --pods (all or
/// nothing) or of the files in --pods-dir (followed: pods come and go), runs until SIGTERM or
/// SIGINT, then detaches everything and removes its pins.
struct InterceptorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interceptor",
        abstract: "Capture meshed pods' traffic with eBPF instead of iptables (cgroup v2 and tc programs, loaded through libbpf); runs until SIGTERM.",
        discussion: """
        A pods file (YAML) lists `pods:` with, for each, `ip`, `cgroup` (its cgroup v2 directory), and optionally `name`, \
        `netns` (its network namespace: inbound connections from anywhere are captured), `sidecarCgroup` (the sidecar's own \
        cgroup, never captured besides --proxy-uid) and `annotations` (the flomesh.io/*-list annotations). Run each pod's \
        sidecar with `fsm sidecar --capture ebpf`.
        """
    )

    @Option(help: "Pods file: capture these pods (every one must attach, or nothing runs).")
    var pods: String?

    @Option(help: "Directory of pods files (*.yaml, one per pod as a CNI plugin writes them), re-read every second: pods are captured and released as files come and go.")
    var podsDir: String?

    @Option(help: "A MeshConfig manifest: its spec.traffic exclusion and inclusion lists apply to every pod, as in iptables mode.")
    var meshConfig: String?

    @Option(help: "Directory on a bpf filesystem for the pinned programs and maps (/sys/fs/bpf is mounted when it is not).")
    var pinDir = Interceptor.defaultPinDirectory

    @Flag(inversion: .prefixedNo, help: "Deliver sends between same-host sockets (app and sidecar, sidecar and sidecar) straight to the peer socket (sk_msg + sockmap).")
    var accelerate = true

    @Option(help: "Load this eBPF object instead of the one built into fsm (development and tests).")
    var object: String?

    @Option(help: "The sidecars' uid: their connections are not captured.")
    var proxyUID = RedirectSettings.defaultProxyUID

    @Option(help: "The sidecars' outbound listener port.")
    var outboundPort = RedirectSettings.defaultOutboundListenerPort

    @Option(help: "The sidecars' inbound listener port.")
    var inboundPort = RedirectSettings.defaultInboundListenerPort

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard (pods == nil) != (podsDir == nil) else { throw ValidationError("give --pods FILE or --pods-dir DIR") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level \(logLevel)") }
        do {
            _ = try RedirectSettings(proxyUID: proxyUID, outboundListenerPort: outboundPort, inboundListenerPort: inboundPort)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "fsm.interceptor")
        // Bad input first, before anything touches the kernel.
        let defaults = try podDefaults()
        let directory = podsDir.map { InterceptorPodsDirectory(path: $0, defaults: defaults) }
        let listed = try pods.map { try readPods($0, defaults: defaults) } ?? []
        try preflight(cgroups: listed.flatMap { [$0.cgroupPath] + ($0.sidecarCgroupPath.map { [$0] } ?? []) }, logger: logger)
        let interceptor = try load(logger: logger)
        let mode = "pins in \(pinDir), acceleration \(accelerate ? "on" : "off")"
        if var directory {
            Self.say("interceptor started: following \(directory.path), \(mode)")
            await follow(&directory, interceptor: interceptor, logger: logger)
        } else {
            do {
                for pod in listed { try interceptor.attach(pod) }
            } catch {
                interceptor.stop()
                throw CommandFailure("\(error)")
            }
            Self.say("interceptor started: \(listed.count) pod\(listed.count == 1 ? "" : "s"), \(mode)")
            listed.forEach(Self.printCaptured)
            await CommandLifecycle.waitForSignal(logger: logger)
        }
        let statistics = interceptor.statistics()
        interceptor.stop()
        Self.say("interceptor stopped: \(statistics)")
    }

    /// One line on standard output, unbuffered (a pipe reader sees it at once).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func printCaptured(_ pod: InterceptorPod) {
        Self.say("captured \(pod.name) (\(pod.addressText)): cgroup \(pod.cgroupPath)\(pod.networkNamespacePath.map { ", netns \($0)" } ?? "")")
    }

    func preflight(cgroups: [String], logger: Logger) throws {
        let facts = InterceptorPreflight.Facts.current(cgroupPaths: cgroups)
        if let problem = InterceptorPreflight.problems(facts).first { throw CommandFailure(problem) }
        for note in InterceptorPreflight.notes(facts) { logger.info("\(note)") }
    }

    func load(logger: Logger) throws -> Interceptor {
        let bytes = try objectBytes()
        do {
            return try Interceptor(objectBytes: bytes, options: Interceptor.Options(pinDirectory: pinDir, accelerate: accelerate), logger: logger)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// Follows the directory until SIGTERM: every second, the pods its files list are attached and
    /// the ones gone are released; a pod that cannot be attached is tried again, its error logged once.
    func follow(_ directory: inout InterceptorPodsDirectory, interceptor: Interceptor, logger: Logger) async {
        let stopping = StopFlag()
        Task { await CommandLifecycle.waitForSignal(logger: logger); stopping.set() }
        var set = InterceptorPodSet()
        var failures: [UInt32: String] = [:]
        while !stopping.isSet {
            let (wanted, problems) = directory.read()
            for problem in problems { logger.error("pods file problem", metadata: ["problem": "\(problem)"]) }
            for action in set.reconcile(desired: wanted) {
                switch action {
                case .detach(let pod):
                    interceptor.detach(address: pod.address)
                    set.didDetach(pod)
                    Self.say("released \(pod.name) (\(pod.addressText))")
                case .attach(let pod):
                    do {
                        try interceptor.attach(pod)
                        set.didAttach(pod)
                        failures[pod.address] = nil
                        Self.printCaptured(pod)
                    } catch {
                        if failures.updateValue("\(error)", forKey: pod.address) != "\(error)" {
                            logger.error("cannot capture a pod yet; trying again every second", metadata: ["pod": "\(pod.name)", "error": "\(error)"])
                        }
                    }
                }
            }
            for _ in 0..<5 where !stopping.isSet { try? await Task.sleep(for: .milliseconds(200)) }
        }
    }

    func podDefaults() throws -> InterceptorPodsFile.Defaults {
        var defaults = InterceptorPodsFile.Defaults(proxyUID: proxyUID, outboundListenerPort: outboundPort, inboundListenerPort: inboundPort)
        if let meshConfig { defaults.meshConfig = try Self.readMeshConfig(meshConfig) }
        return defaults
    }

    func readPods(_ path: String, defaults: InterceptorPodsFile.Defaults) throws -> [InterceptorPod] {
        do {
            let text = try SourceText.decode(try Self.read(path, hint: "give a YAML file listing the pods"), file: path)
            return try InterceptorPodsFile.decode(text, file: path, defaults: defaults)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    func objectBytes() throws -> [UInt8] {
        guard let object else {
            do {
                return try InterceptorObject.load()
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        return try Self.read(object, hint: "give an eBPF object file (clang -target bpf -c)")
    }

    static func readMeshConfig(_ path: String) throws -> MeshConfig {
        do {
            let text = try SourceText.decode(try read(path, hint: "give a MeshConfig manifest file"), file: path)
            for decoded in try ManifestDecoder.decode(text, file: path) {
                if case .meshConfig(let config) = decoded.resource { return config }
            }
        } catch {
            throw CommandFailure("\(error)")
        }
        throw CommandFailure("\(path): no MeshConfig in it (kind: MeshConfig, apiVersion: config.flomesh.io/v1alpha3)")
    }

    static func read(_ path: String, hint: String) throws -> [UInt8] {
        do {
            return try InputFile.read(path, limit: ManifestLimits.maxFileBytes, directoryHint: hint, tooLarge: SourceText.tooLarge)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

/// Set once by the signal task, read by the loop.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
