import Foundation
import Logging
import MeshIdentity
import MeshInject
import MeshManifest
import MeshModel
import MeshShell

/// `fsm up --pods netns` under eBPF capture, when the manifests' MeshConfig says
/// `traffic.interceptionMode: ebpf`: the webhook then adds no iptables init container and starts
/// the sidecar with `--capture ebpf`; here each meshed pod gets its cgroups (the sidecar and the
/// app each in their own, through `fsm container --cgroup`), and one `fsm interceptor` (the
/// node's DaemonSet pod) captures them all before any sidecar starts.
extension UpLauncher {
    /// The pods' cgroups when the MeshConfig asks for eBPF capture, recorded before any is made.
    static func planCgroups(_ plan: NetnsPlan, settings: UpSettings, state: inout UpState) throws -> PodCgroups? {
        guard plan.view.meshConfig().traffic.interceptionMode == .ebpf else { return nil }
        guard let cgroups = PodCgroups.plan(tag: plan.network.tag) else {
            throw UpError.network("eBPF capture (MeshConfig traffic.interceptionMode: ebpf) needs a cgroup v2 hierarchy, and none is mounted")
        }
        state.cgroups = cgroups
        try state.save(in: settings.stateDirectory)
        return cgroups
    }

    /// A meshed pod's cgroups (a pod the webhook left alone runs uncaptured, in none).
    static func makeCgroups(_ cgroups: PodCgroups?, for pod: NetnsPod) throws {
        guard let cgroups, pod.proxyUUID != nil else { return }
        do {
            try cgroups.create(pod: pod.key)
        } catch {
            throw UpError.network(error.description)
        }
    }

    /// The cgroup a container of `pod` runs in: the sidecar's or the app's; none without eBPF capture.
    static func cgroup(of container: ContainerLaunch, in pod: NetnsPod, _ cgroups: PodCgroups?) -> String? {
        guard let cgroups, pod.proxyUUID != nil else { return nil }
        return container.name == PodInjector.sidecarContainerName ? cgroups.sidecar(pod.key) : cgroups.app(pod.key)
    }

    /// Starts `fsm interceptor` for every meshed pod and waits until it says it captures them.
    static func startInterceptor(_ plan: NetnsPlan, cgroups: PodCgroups, settings: UpSettings, logs: String, state: inout UpState,
                                 deadline: ContinuousClock.Instant, logger: Logger) async throws {
        let meshed = plan.pods.enumerated().filter { $0.element.proxyUUID != nil }.map { index, pod in
            (key: pod.key, ip: pod.ip, netns: plan.network.link(pod: pod.key, ip: pod.ip, index: index).netns,
             annotations: pod.admitted["metadata"]?["annotations"]?.stringMap ?? [:])
        }
        guard !meshed.isEmpty else { return }
        let file = (settings.stateDirectory as NSString).appendingPathComponent("interceptor-pods.yaml")
        try SecretFile.write(cgroups.podsFile(meshed), to: file)
        var arguments = ["interceptor", "--pods", file, "--pin-dir", cgroups.pinDirectory]
        if let meshConfig = meshConfigFile(in: settings.manifests) { arguments += ["--mesh-config", meshConfig] }
        let process = try launch(UpState.Started(role: .interceptor, pod: nil, pid: 0, startTime: nil,
                                                 log: (logs as NSString).appendingPathComponent("interceptor.log"), arguments: arguments),
                                 settings: settings, state: &state, logger: logger)
        try await waitUntil("fsm interceptor", process: process, deadline: deadline) {
            (try? String(contentsOfFile: process.log, encoding: .utf8))?.contains("interceptor started") == true
        }
    }

    /// The manifest file holding the MeshConfig (the interceptor honours its exclusion lists).
    static func meshConfigFile(in manifests: String) -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: manifests)) ?? []).sorted()
        for name in names where [".yaml", ".yml", ".json"].contains(where: name.hasSuffix) {
            let path = (manifests as NSString).appendingPathComponent(name)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let decoded = try? ManifestDecoder.decode(text, file: path) else { continue }
            if decoded.contains(where: { if case .meshConfig = $0.resource { true } else { false } }) { return path }
        }
        return nil
    }
}
