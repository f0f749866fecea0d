import Foundation
import Logging
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshInject
import MeshModel
import MeshRuntime
import MeshShell
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// `fsm up --pods netns`: each pod is what the injection webhook makes of it, run as a kubelet
/// would on this machine. The webhook's own code (`PodInjector`) patches the pod object the
/// manifests stand for (`JSONPatch`); its credential Secret becomes a 0600 file of the sidecar's
/// uid, mounted where the patch says; the patched pod is what the controller reads
/// (`--admitted-pods`). Each pod gets a network namespace on a bridge with the IP of the
/// controller's address plan; its init container (`fsm init`) programs capture in it, then its
/// sidecar runs as uid 1500, then its app, each through `fsm container`; `fsm supervise` runs the
/// patched spec's probes, which injection rewrote to the sidecar's 15901-15904.
extension UpLauncher {
    /// One pod, admitted and planned before anything is made.
    struct NetnsPod {
        var key: String
        var ip: String
        var namespace: String
        /// The pod object the manifests stand for, and what admission made of it.
        var original: JSONValue
        var admitted: JSONValue
        /// The webhook's uuid for the pod; nil when the webhook left it alone (no sidecar).
        var proxyUUID: String?
        var launch: PodLaunchPlan
        var app: PlannedApp?
        var hosts: String
    }

    struct NetnsPlan {
        var network: PodNetwork
        var pods: [NetnsPod]
        var view: InjectorClusterState
    }

    /// The webhook as it runs for this machine: the mesh's containers (sidecars too) run this
    /// `fsm`, and sidecars reach the controller on the bridge's gateway.
    static func injectorSettings(_ settings: UpSettings) -> InjectorSettings {
        InjectorSettings(binaryPath: settings.executable, sidecarBinaryPath: settings.executable, controllerURL: settings.controllerURL)
    }

    /// Admits every pod with the webhook's code and plans how each runs, all before anything is
    /// made. The credential key here is one of the moment: the Secrets are minted again, by the
    /// webhook with the same uuids, once the controller's key is in place.
    static func admitPods(_ settings: UpSettings, pods: [PodPlan], cluster: LocalCluster, logger: Logger) throws -> NetnsPlan {
        let network: PodNetwork
        switch PodNetwork.plan(stateDirectory: settings.stateDirectory, firstPodIP: settings.firstPodIP, podCount: pods.count, firstServiceIP: settings.firstServiceIP) {
        case .success(let planned): network = planned
        case .failure(let problem): throw UpError.network(problem.description)
        }
        guard settings.controllerHost == network.gateway || settings.controllerHost == "0.0.0.0" else {
            throw UpError.network("pods reach the controller over the bridge: --controller-listen must be on \(network.gateway) (the gateway of \(network.subnet)) or 0.0.0.0, not \(settings.controllerHost)")
        }
        var view = InjectorClusterState(controlPlaneNamespace: injectorSettings(settings).controlPlaneNamespace)
        view.apply(cluster.resources.values.map(ResourceChange.upsert))
        var generator = SystemRandomNumberGenerator()
        let injector = PodInjector(settings: injectorSettings(settings), credentials: try CredentialAuthority(keyBytes: CredentialAuthority.generateKey(using: &generator)))
        let objects = try WorkloadPods(directory: settings.manifests)
        let services = cluster.resources.values.compactMap { resource -> PodHosts.Service? in
            guard case .service(let service) = resource, let ip = service.clusterIP else { return nil }
            return PodHosts.Service(name: service.metadata.name, namespace: service.metadata.namespace, clusterIP: ip)
        }
        var admitted: [NetnsPod] = []
        for plan in pods {
            guard let original = objects.pod(plan.key), let ip = plan.pod.podIP else { throw UpError.badPod("pod \(plan.key): not found in \(settings.manifests)") }
            let namespace = plan.pod.metadata.namespace
            var pod = NetnsPod(key: plan.key, ip: ip, namespace: namespace, original: original, admitted: original, proxyUUID: nil,
                               launch: try launchPlan(original, settings: settings, plan: plan, ip: ip, secrets: [], meshImage: injector.settings.image),
                               app: plan.app, hosts: PodHosts.render(podName: plan.pod.metadata.name, podNamespace: namespace, podIP: ip, services: services))
            let uuid = UUID().uuidString.lowercased()
            switch injector.inject(pod: original, namespace: namespace, namespaceObject: view.namespace(named: namespace), meshConfig: view.meshConfig(), proxyUUID: uuid) {
            case .refused(let reason):
                throw UpError.badPod("pod \(plan.key): the injection webhook refuses it: \(reason)")
            case .skipped(let decision):
                logger.notice("pod not injected: it runs without a sidecar", metadata: ["pod": "\(plan.key)", "decision": "\(decision)"])
            case .inject(let injection):
                for warning in injection.warnings { logger.warning("injection warning", metadata: ["pod": "\(plan.key)", "warning": "\(warning)"]) }
                do {
                    pod.admitted = try injection.patch.apply(to: original)
                } catch {
                    throw UpError.badPod("pod \(plan.key): the webhook's patch does not apply: \(error)")
                }
                pod.proxyUUID = uuid
                pod.launch = try launchPlan(pod.admitted, settings: settings, plan: plan, ip: ip, secrets: [injection.secret.name],
                                            meshImage: injector.settings.image(for: view.meshConfig()))
            }
            for reason in pod.launch.notRun { logger.warning("container not run", metadata: ["pod": "\(plan.key)", "container": "\(reason)"]) }
            admitted.append(pod)
        }
        return NetnsPlan(network: network, pods: admitted, view: view)
    }

    /// How the kubelet would run the pod here (the demo app in place of its image's program).
    private static func launchPlan(_ pod: JSONValue, settings: UpSettings, plan: PodPlan, ip: String, secrets: Set<String>, meshImage: String) throws -> PodLaunchPlan {
        let directory = settings.podDirectory(plan.key)
        var apps: [String: [String]] = [:]
        if let app = plan.app, let container = plan.pod.spec.containers.first { apps[container.name] = [settings.executable] + app.capturedArguments }
        let context = PodLaunchPlan.Context(podIP: ip, hostIP: settings.controllerHost, podDirectory: directory,
                                           hostsFile: (directory as NSString).appendingPathComponent("hosts"), meshImage: meshImage, apps: apps, secrets: secrets)
        do {
            return try PodLaunchPlan(pod: pod, context: context)
        } catch {
            throw UpError.badPod("\(error)")
        }
    }

    /// Makes the network and runs the pods; what is made is recorded in the state first.
    static func startNetns(_ settings: UpSettings, plan: NetnsPlan, logs: String, state: inout UpState, logger: Logger) async throws {
        let deadline = ContinuousClock.now + settings.readyTimeout
        try makeNodeNetwork(plan.network, settings: settings, state: &state)
        try SecretFile.createDirectory(settings.controllerState.path)
        let credentials = try settings.controllerState.rotateCredentialKey()
        var generator = SystemRandomNumberGenerator()
        let operatorToken = try credentials.mint(.operator, using: &generator).token
        let admittedDirectory = (settings.stateDirectory as NSString).appendingPathComponent("admitted")
        try SecretFile.createDirectory(admittedDirectory)
        for pod in plan.pods {
            let file = (admittedDirectory as NSString).appendingPathComponent("\(logName(pod.key)).yaml")
            try SecretFile.write(pod.admitted.rendered(pretty: true) + "\n", to: file)
        }
        let controller = try launch(UpState.Started(role: .controller, pod: nil, pid: 0, startTime: nil, log: (logs as NSString).appendingPathComponent("controller.log"),
                                                    arguments: controllerArguments(settings, admittedPods: admittedDirectory)), settings: settings, state: &state, logger: logger)
        let meshed = try await waitForMeshedPods(settings, controller: controller, operatorToken: operatorToken, deadline: deadline)
        let injector = PodInjector(settings: injectorSettings(settings), credentials: credentials)
        let cgroups = try planCgroups(plan, settings: settings, state: &state)
        var links: [PodNetwork.PodLink] = []
        for (index, pod) in plan.pods.enumerated() {
            if pod.proxyUUID != nil, meshed[pod.key]?.ip != pod.ip {
                throw UpError.notReady("the controller gives pod \(pod.key) the address \(meshed[pod.key]?.ip ?? "none"), not \(pod.ip) as planned")
            }
            let link = plan.network.link(pod: pod.key, ip: pod.ip, index: index)
            state.network?.pods.append(link)
            try state.save(in: settings.stateDirectory)
            try plan.network.createPod(link)
            try preparePod(pod, settings: settings, injector: injector, view: plan.view)
            try makeCgroups(cgroups, for: pod)
            links.append(link)
        }
        if let cgroups { try await startInterceptor(plan, cgroups: cgroups, settings: settings, logs: logs, state: &state, deadline: deadline, logger: logger) }
        var sidecars: [(pod: NetnsPod, netns: String, process: UpState.Started)] = []
        for (pod, link) in zip(plan.pods, links) {
            try await runInitContainers(pod, netns: link.netns, settings: settings, logs: logs)
            for var container in pod.launch.containers where container.name == PodInjector.sidecarContainerName {
                container.cgroup = cgroup(of: container, in: pod, cgroups)
                sidecars.append((pod, link.netns, try start(container, of: pod, role: .sidecar, netns: link.netns, settings: settings, logs: logs, state: &state, logger: logger)))
            }
        }
        for sidecar in sidecars {
            _ = try await waitRestarting("sidecar of \(sidecar.pod.key)", process: sidecar.process, settings: settings, state: &state, deadline: deadline, logger: logger) {
                await sidecarReady(netns: sidecar.netns, settings: settings, logs: logs)
            }
        }
        try await startApps(plan, settings: settings, logs: logs, state: &state, deadline: deadline, logger: logger)
        try await startSupervisor(settings, logs: logs, state: &state, deadline: deadline)
    }

    /// The bridge and the FORWARD rule, each recorded before it is made; then the controller's address must be free.
    private static func makeNodeNetwork(_ network: PodNetwork, settings: UpSettings, state: inout UpState) throws {
        try network.checkFree()
        state.network = network
        try state.save(in: settings.stateDirectory)
        try network.createBridge()
        state.network?.forwardRule = true
        try state.save(in: settings.stateDirectory)
        try network.addForwardRule()
        if let code = ListenProbe.bindError(host: settings.controllerHost, port: settings.controllerPort) {
            throw UpError.cannotListen("\(settings.controllerHost):\(settings.controllerPort)", what: "the controller", reason: SystemErrorText.describe(errno: code))
        }
    }

    /// The pod's files: its hosts file, each volume (a Secret's files 0600 in a 0700 directory of
    /// the one user that mounts it) and a scratch directory per container.
    private static func preparePod(_ pod: NetnsPod, settings: UpSettings, injector: PodInjector, view: InjectorClusterState) throws {
        let directory = settings.podDirectory(pod.key)
        try SecretFile.createDirectory(directory)
        try SecretFile.write(pod.hosts, to: (directory as NSString).appendingPathComponent("hosts"), mode: SecretFile.publicFileMode)
        try SecretFile.createDirectory((directory as NSString).appendingPathComponent("volumes"))
        let token = try credentialToken(pod, injector: injector, view: view)
        for volume in pod.launch.volumes {
            let owner = SecretFile.Owner(user: uid_t(volume.owner.user), group: gid_t(volume.owner.group))
            try SecretFile.createDirectory(volume.hostPath, owner: owner)
            if case .secret(let name) = volume.source {
                guard let token, name == CredentialSecret.namePrefix + (pod.proxyUUID ?? "") else { throw UpError.badPod("pod \(pod.key): Secret \(name) does not exist here") }
                try SecretFile.write(token, to: (volume.hostPath as NSString).appendingPathComponent(CredentialSecret.dataKey), owner: owner)
            }
        }
        for container in pod.launch.initContainers + pod.launch.containers {
            try SecretFile.createDirectory(scratch(of: container, pod: pod, settings: settings))
        }
    }

    /// The credential the webhook mints for the pod's uuid, with the controller's key.
    private static func credentialToken(_ pod: NetnsPod, injector: PodInjector, view: InjectorClusterState) throws -> String? {
        guard let uuid = pod.proxyUUID else { return nil }
        guard case .inject(let injection) = injector.inject(pod: pod.original, namespace: pod.namespace, namespaceObject: view.namespace(named: pod.namespace),
                                                            meshConfig: view.meshConfig(), proxyUUID: uuid) else {
            throw UpError.badPod("pod \(pod.key): the webhook no longer injects it")
        }
        return injection.secret.token
    }

    private static func scratch(of container: ContainerLaunch, pod: NetnsPod, settings: UpSettings) -> String {
        (settings.podDirectory(pod.key) as NSString).appendingPathComponent("scratch/\(container.name)")
    }

    /// Each init container in order, to completion; one that fails stops `fsm up` with its log.
    private static func runInitContainers(_ pod: NetnsPod, netns: String, settings: UpSettings, logs: String) async throws {
        for container in pod.launch.initContainers {
            let log = (logs as NSString).appendingPathComponent("\(logName(pod.key)).\(container.name).log")
            let pid = try DetachedProcess.spawn(settings.executable, container.runArguments(netns: netns, scratch: scratch(of: container, pod: pod, settings: settings)), log: log)
            let status = await DetachedProcess.waitForExit(pid: pid, timeout: .seconds(60))
            guard status == 0 else {
                throw UpError.notReady("init container \(container.name) of pod \(pod.key) \(status.map { "exited with status \($0)" } ?? "did not finish in 60 s"); its log \(log) ends with:\n\(tail(of: log))")
            }
        }
    }

    /// Starts one container and records it with the probes `fsm supervise` runs against it.
    private static func start(_ container: ContainerLaunch, of pod: NetnsPod, role: UpState.Started.Role, netns: String, settings: UpSettings, logs: String,
                              state: inout UpState, logger: Logger) throws -> UpState.Started {
        var process = UpState.Started(role: role, pod: pod.key, pid: 0, startTime: nil,
                                      log: (logs as NSString).appendingPathComponent("\(logName(pod.key)).\(container.name).log"),
                                      arguments: container.runArguments(netns: netns, scratch: scratch(of: container, pod: pod, settings: settings)))
        process.container = container.name
        var probes: [UpState.Probe] = []
        for probe in container.probes {
            guard case .http(let port, let path, "HTTP", let headers) = probe.action else {
                logger.warning("probe not run: fsm supervise runs HTTP GET probes only", metadata: [
                    "pod": "\(pod.key)", "container": "\(container.name)", "probe": "\(probe.kind.rawValue)", "action": "\(probe.action)",
                ])
                continue
            }
            probes.append(UpState.Probe(host: pod.ip, port: port, path: path, kind: probe.kind, headers: headers.isEmpty ? nil : headers, timeoutSeconds: probe.timeoutSeconds))
        }
        process.probes = probes.isEmpty ? nil : probes
        return try launch(process, settings: settings, state: &state, logger: logger)
    }

    /// The sidecar's own `/ready` on its pod's loopback, asked from inside the pod (a kubelet exec probe).
    private static func sidecarReady(netns: String, settings: UpSettings, logs: String) async -> Bool {
        let check = ContainerLaunch(name: "ready-check", image: "", argv: [settings.executable, "proxy", "get", "ready", "--admin", "127.0.0.1:\(settings.sidecarAdminPort)"])
        let log = (logs as NSString).appendingPathComponent("ready-checks.log")
        guard let pid = try? DetachedProcess.spawn(settings.executable, check.runArguments(netns: netns, scratch: nil), log: log, newSession: false) else { return false }
        return await DetachedProcess.waitForExit(pid: pid, timeout: .seconds(5)) == 0
    }

    /// The containers after the sidecar (the apps), then until each readiness probe passes.
    private static func startApps(_ plan: NetnsPlan, settings: UpSettings, logs: String, state: inout UpState, deadline: ContinuousClock.Instant, logger: Logger) async throws {
        var started: [UpState.Started] = []
        for (index, pod) in plan.pods.enumerated() {
            let netns = plan.network.link(pod: pod.key, ip: pod.ip, index: index).netns
            for var container in pod.launch.containers where container.name != PodInjector.sidecarContainerName {
                container.cgroup = cgroup(of: container, in: pod, state.cgroups)
                started.append(try start(container, of: pod, role: .app, netns: netns, settings: settings, logs: logs, state: &state, logger: logger))
            }
            state.pods.append(UpState.PodRow(pod: pod.key, ip: pod.ip, app: pod.app?.kind, appURL: pod.app.map { "http://127.0.0.1:\($0.port)/" },
                                             adminURL: "http://127.0.0.1:\(settings.sidecarAdminPort)/stats", netns: netns))
        }
        try state.save(in: settings.stateDirectory)
        for var process in started {
            for probe in process.allProbes where probe.effectiveKind == .readiness {
                process = try await waitRestarting("\(process.what) (readiness probe \(probe.host):\(probe.port)\(probe.path))", process: process, settings: settings,
                                                   state: &state, deadline: deadline, logger: logger) {
                    let headers = (probe.headers ?? []).map { ($0.name, $0.value) }
                    let answer = try? await MeshHTTP.request(host: probe.host, port: probe.port, path: probe.path, headers: headers + [("connection", "close")],
                                                             timeout: .seconds(2))
                    return answer.map { (200..<400).contains($0.status) } ?? false
                }
            }
        }
    }
}
