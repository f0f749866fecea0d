import Foundation
import Logging
import MeshControl
import MeshIdentity
import MeshModel
import MeshRuntime
import MeshShell
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SimCore

/// How a real run is made.
public struct RealModeOptions: Sendable {
    /// nil: the scenario's own seed (it seeds the app models and the simulated run).
    public var seed: UInt64?
    /// Pods get `127.82.<subnet>.<n>`. nil (the default): the first subnet no other run on this
    /// machine holds (`LoopbackBlockLease`); a given one must be free, or the run is refused.
    public var subnet: Int?
    /// Level of the sidecars' own logs (to standard error).
    public var sidecarLogLevel: Logger.Level
    /// Sidecars talk mTLS with certificates from a CA of the run's own (the default), or plain
    /// HTTP with the source identity in a header (`false`; cheaper, but not the production path).
    public var mutualTLS: Bool

    public init(seed: UInt64? = nil, subnet: Int? = nil, sidecarLogLevel: Logger.Level = .critical, mutualTLS: Bool = true) {
        self.seed = seed
        self.subnet = subnet
        self.sidecarLogLevel = sidecarLogLevel
        self.mutualTLS = mutualTLS
    }
}

/// Runs a scenario for real: the controller (`MeshController`, in process) computes every proxy's
/// configuration from the scenario's manifests and steps; each meshed pod is a real
/// `SidecarProcess` (its outbound, inbound and admin listeners on the pod's own loopback address,
/// its configuration written to a file and reloaded, the runtime's own path); each pod's app is a
/// real HTTP server answering as the scenario's app model says; the loads run in wall-clock time
/// through the client pod's sidecar. Sidecar to sidecar is mTLS: a CA of the run's own issues each
/// meshed pod a certificate for its service identity, so inbound access control reads the peer's
/// identity from its certificate as in production (`mutualTLS: false` runs plain HTTP with the
/// identity in a header instead). The results take the simulator's `SimulationResult`
/// shape, so the same `ExpectationChecker` decides; the simulator runs the same scenario for the
/// side-by-side report.
public enum RealModeRunner {
    static let outboundPort = 15001
    static let inboundPort = SidecarSettings(podIP: "", peerTransport: .insecurePlaintext).inboundPort

    /// The third octets a run may take.
    public static let subnets = 1...250

    /// The subnet of this run, held until it ends so that no other run on the machine binds it.
    static func leaseSubnet(_ wanted: Int?) throws(RealModeError) -> (number: Int, lease: LoopbackBlockLease) {
        do {
            guard let wanted else {
                guard let free = try LoopbackBlockLease.acquireFree(network: "127.82", in: subnets) else {
                    throw RealModeError.setup("every subnet 127.82.1-250 is held by another sim --real on this machine")
                }
                return free
            }
            guard subnets.contains(wanted) else { throw RealModeError.setup("subnet \(wanted) is not in 1...250") }
            guard let lease = try LoopbackBlockLease.tryAcquire("127.82.\(wanted)") else {
                throw RealModeError.setup("subnet \(wanted) (127.82.\(wanted).x) is in use by another sim --real on this machine: give another --subnet, or none to take a free one")
            }
            return (wanted, lease)
        } catch let error as RealModeError {
            throw error
        } catch {
            throw RealModeError.setup("\(error)")
        }
    }

    public static func run(_ original: Scenario, options: RealModeOptions = RealModeOptions()) async throws -> RealModeReport {
        try RealModeSupport.check(original)
        // Real certificates where the Secrets hold modelled ones (DECISIONS 185, 204); the
        // simulated column runs the scenario as written.
        let certificates = try RealSecretCertificates(scenario: original)
        let scenario = certificates.rewritten(original)
        let secrets = RealSecretCertificates.secretsByName(of: scenario)
        let lease = try leaseSubnet(options.subnet)
        defer { lease.lease.release() }
        let seed = options.seed ?? scenario.seed
        var controller = MeshController(meshConfig: scenario.mesh.meshConfig)
        if scenario.loadSpecs.contains(where: \.isExternal) { try await RealOutsideClient.prepare() }
        let cluster = try RealCluster(scenario: scenario, seed: seed, subnet: lease.number, meshName: controller.meshName,
                                      controlPlaneNamespace: controller.controlPlaneNamespace)
        try RealModeSupport.checkClientLoops(scenario, cluster: cluster)
        _ = controller.apply(cluster.initialChanges)

        // Each meshed pod's capture as its init container programmed it (at its start, again at its restart).
        var exclusions = Dictionary(uniqueKeysWithValues: cluster.pods.indices.filter { controller.isMeshed(cluster.pods[$0].key) }
            .map { ($0, controller.meshConfig.traffic.outboundIPRangeExclusionList) })
        // A meshed client sends through its sidecar; one without a sidecar through `RealKubeProxy`.
        var loadClients: [String: (ip: String, url: LoadURL, kubeProxy: RealKubeProxy?, serverFirst: Bool)] = [:]
        var loadTLS: [String: RealTLSClient] = [:]
        for step in scenario.steps {
            guard case .load(let load) = step.action else { continue }
            guard let url = try? LoadURL(parsing: load.url) else { throw RealModeError.setup("load \(load.name): cannot parse url \"\(load.url)\"") }
            if load.isExternal {
                loadClients[load.name] = try Self.outsideClient(load, url: url, cluster: cluster, place: step.location.map { " (line \($0.line))" } ?? "")
                if url.scheme == .https {
                    loadTLS[load.name] = try RealTLSClient(tls: load.tls, url: url, secrets: secrets, publicRootPEM: certificates.publicRoot.certificatePEM)
                }
                continue
            }
            guard let index = cluster.pod(from: load.from) else { throw RealModeError.setup("load \(load.name): no pod for \(load.from)") }
            let pod = cluster.pods[index]
            let place = step.location.map { " (line \($0.line))" } ?? ""
            try RealModeSupport.checkHTTPSFromPod(load, url: url, meshed: controller.isMeshed(pod.key), cluster: cluster, place: place)
            if url.scheme == .https {
                loadTLS[load.name] = try RealTLSClient(tls: load.tls, url: url, secrets: secrets, publicRootPEM: certificates.publicRoot.certificatePEM)
            }
            // Datagrams pass by the sidecars (DECISIONS 187): a udp:// load goes to the endpoints as an unmeshed client's does.
            guard controller.isMeshed(pod.key), url.scheme != .udp else {
                if url.isTCP { throw RealModeError.unsupported("tcp:// loads from a pod without a sidecar (load \(load.name) from \(load.from))") }
                let targets = cluster.endpoints(host: url.host, port: url.port, clientNamespace: pod.key.namespace).map { endpoint in
                    controller.isMeshed(cluster.pods[endpoint.pod].key)
                        ? RealKubeProxy.Target(host: cluster.pods[endpoint.pod].ip, port: inboundPort, targetPort: endpoint.port)
                        : RealKubeProxy.Target(host: cluster.pods[endpoint.pod].ip, port: endpoint.port)
                }
                loadClients[load.name] = (pod.ip, url, RealKubeProxy(targets: targets), false)
                continue
            }
            let serverFirst = url.isTCP && cluster.speaksFirst(host: url.host, port: url.port, clientNamespace: pod.key.namespace)
            loadClients[load.name] = (pod.ip, Self.resolved(url, in: cluster, from: pod.key.namespace), nil, serverFirst)
        }

        var logger = Logger(label: "sim-real.sidecar")
        logger.logLevel = options.sidecarLogLevel
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sim-real-\(lease.number)-\(UInt32.random(in: 0...UInt32.max))")
        do {
            // 0700: the sidecars' configs and keys are readable by this user only.
            try SecretFile.createDirectory(directory.path)
        } catch {
            throw RealModeError.setup("cannot create \(directory.path): \(error)")
        }
        defer { try? FileManager.default.removeItem(at: directory) }

        let appGroup = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let tcpCalls = RealTCPCallLedger()
        let accessLogs = RealAccessLogLedger()
        let spans = RealSpanLedger()
        let upstreamHeaders = RealUpstreamHeaderLedger(
            names: Dictionary(scenario.loadSpecs.map { ($0.name, HeaderTally.upstreamNames(for: $0.name, in: scenario.expectations)) }, uniquingKeysWith: +))
        let apps = try cluster.pods.map { pod throws(RealModeError) in
            RealAppServer(pod: pod, tcpCalls: tcpCalls, upstreamHeaders: upstreamHeaders, tls: try certificates.serverContext(for: pod, secrets: secrets))
        }
        var sidecars: [Int: SidecarProcess] = [:]
        let gateways = RealGateways(scenarioName: scenario.name, cluster: cluster, meshedPodIPs: Set(cluster.pods.filter { controller.isMeshed($0.key) }.map(\.ip)),
                                    accessLog: accessLogs.sink, logger: logger)
        func stopAll() async {
            await gateways.stop()
            for sidecar in sidecars.values { await sidecar.shutdown(drainTimeout: .seconds(1)) }
            for app in apps { await app.stop() }
            try? await appGroup.shutdownGracefully()
        }
        func configPath(_ pod: Int) -> String { directory.appendingPathComponent("pod-\(pod).json").path }
        func writeConfig(_ pod: Int) throws {
            guard var config = controller.config(for: cluster.pods[pod].key) else { return }
            // The pod's workload, as the controller stamps it on the config it serves a pod.
            let key = cluster.pods[pod].key
            config.spec.workload = ProxyWorkload(namespace: key.namespace, kind: "Deployment", name: cluster.pods[pod].deployment, pod: key.name)
            // Access logs on in every real run: the flags of each request come from them.
            config.spec.accessLog = true
            try SecretFile.write(config.renderedJSON(pretty: true), to: configPath(pod))
        }

        let serviceAddresses = cluster.serviceAddresses(inboundPort: inboundPort, isMeshed: { controller.isMeshed($0) })
        var authority: RealModeCertificates?
        /// Starts the sidecar of a meshed pod (at the start, or when a killed pod restarts); a
        /// crashed sidecar starts again from its cached config (the file it last loaded).
        func startSidecar(_ index: Int, fromCache: Bool = false) async throws {
            let pod = cluster.pods[index]
            if let port = cluster.egressGatewayPorts[index] {
                sidecars[index] = try await RealEgressGateway.start(pod: pod, port: port, accessLog: accessLogs.sink, logger: logger)
                return
            }
            if !fromCache { try writeConfig(index) }
            var transport = PeerTransport.insecurePlaintext
            if let authority, let identity = controller.config(for: pod.key)?.serviceIdentity {
                transport = .mutualTLS(try authority.issue(for: identity, name: "pod-\(index)"))
            }
            // The route timeout is the engine's, from the config, as in the simulator.
            var settings = SidecarSettings(podIP: pod.ip, peerTransport: transport, outboundPort: outboundPort)
            settings.accessLog = accessLogs.sink
            settings.spanSink = spans.sink
            // DNS outside the cluster: the external hosts' names at their loopback addresses.
            settings.hosts = cluster.externalIPs
            settings.serviceAddresses = serviceAddresses
            let sidecar = try await SidecarProcess.start(configPath: configPath(index), settings: settings, logger: logger)
            sidecars[index] = sidecar
            let ready = try await sidecar.onLoop { $0.isReady }
            if !ready { throw RealModeError.setup("the sidecar of \(pod.key) has no configuration") }
        }

        do {
            authority = options.mutualTLS ? try RealModeCertificates(directory: directory, validity: scenario.mesh.meshConfig.certificate.serviceCertValidityDuration) : nil
            for app in apps { try await app.start(group: appGroup) }
            for (index, pod) in cluster.pods.enumerated() where controller.isMeshed(pod.key) || cluster.egressGatewayPorts[index] != nil {
                try await startSidecar(index)
            }
            if let failure = await gateways.sync(controller).failure { throw RealModeError.setup(failure) }
        } catch {
            await stopAll()
            if let error = error as? RealModeError { throw error }
            if NetworkErrorText.isListenFailure(error) {
                throw RealModeError.setup("cannot listen on the pods' addresses 127.82.\(lease.number).x: \(NetworkErrorText.reason(of: error)) (held by a process outside sim --real? give another --subnet)")
            }
            throw RealModeError.setup(NetworkErrorText.reason(of: error))
        }

        // The timeline, in wall-clock time from here. The scenario's order is kept even when this
        // machine is slow: a change (apply, delete, fault) first waits for the loads meant to end
        // before it, and waits until every sidecar it reconfigures has loaded its new config; any
        // delay this causes (`lag`) shifts the rest of the timeline instead of overlapping phases.
        let origin = ContinuousClock.now
        spans.markOrigin()
        var lag: Duration = .zero
        var events: [SimEvent] = []
        func elapsed() -> MeshDuration { MeshDuration(nanoseconds: RealLoadRunner.nanoseconds(ContinuousClock.now - origin)) }
        var recorders: [RealLoadRecorder] = []
        var running: [(nominalEnd: Int64?, task: Task<Void, Never>)] = []
        var background: [Task<Void, Never>] = []
        /// A gateway that could not bind a listener a step gave it: the run stops (exit 2).
        var gatewayFailure: String?

        func push(_ update: ControllerUpdate) async {
            var pushed: [SidecarProcess] = []
            for key in update.changed {
                guard let index = cluster.pods.firstIndex(where: { $0.key == key }), let sidecar = sidecars[index] else { continue }
                do {
                    try writeConfig(index)
                    sidecar.reload()
                    pushed.append(sidecar)
                } catch {
                    events.append(SimEvent(at: elapsed(), kind: .note, text: "\(error)"))
                }
            }
            // `reload` runs on the sidecar's event loop; a later task on that loop runs after it.
            for sidecar in pushed { _ = try? await sidecar.onLoop { _ in true } }
            if !pushed.isEmpty { events.append(SimEvent(at: elapsed(), kind: .configPush, text: "config pushed to \(pushed.count) prox\(pushed.count == 1 ? "y" : "ies")")) }
            guard !update.gateways.isEmpty else { return }
            // The gateways' configs: applied (and their sockets bound) before the timeline goes on.
            let synced = await gateways.sync(controller)
            for note in synced.notes { events.append(SimEvent(at: elapsed(), kind: .note, text: note)) }
            if synced.pushed > 0 { events.append(SimEvent(at: elapsed(), kind: .configPush, text: "config pushed to \(synced.pushed) gateway\(synced.pushed == 1 ? "" : "s")")) }
            if gatewayFailure == nil { gatewayFailure = synced.failure }
        }

        // The kubelet's readiness probes of crashed sidecars (`ReadinessProbe`, run at the ticks the
        // timeline lists): the pod's Ready condition as the controller last got it.
        var probes: [Int: ReadinessProbe] = [:]
        var podResources = cluster.pods.map(\.resource)
        let adminPort = SidecarSettings(podIP: "", peerTransport: .insecurePlaintext).adminPort
        func setReady(_ index: Int, _ ready: Bool) async {
            podResources[index].setReady(ready)
            events.append(SimEvent(at: elapsed(), kind: .fault, text: "pod \(cluster.pods[index].key) \(ready ? "ready" : "not ready")"))
            await push(controller.apply([.upsert(.pod(podResources[index]))]))
        }

        /// Waits for the loads meant to be over by `at` (closed-loop loads with a request count:
        /// always) and shifts the rest of the timeline by what that cost (DECISIONS 23).
        func finishLoadsEnding(by at: MeshDuration) async {
            var still: [(nominalEnd: Int64?, task: Task<Void, Never>)] = []
            for load in running {
                if load.nominalEnd.map({ $0 <= at.nanoseconds }) ?? true { await load.task.value } else { still.append(load) }
            }
            running = still
            let late = ContinuousClock.now - (origin + lag + .nanoseconds(at.nanoseconds))
            if late > .zero { lag += late }
        }

        for entry in RealTimeline(scenario.steps, cluster: cluster, probe: scenario.mesh.sidecarReadinessProbe).entries {
            if gatewayFailure != nil { break }
            guard case .step(let step) = entry.action else {
                // A killed pod's restart or a crashed sidecar's restart changes the world the loads
                // run in, so the loads meant to end before it end first, as before any change; a
                // probe tick does not wait. Probes of running sidecars whose readiness is settled
                // change nothing (the simulator skips them too).
                if case .probe(let pods) = entry.action, pods.allSatisfy({ sidecars[$0] != nil && (probes[$0]?.isSettled ?? true) }) { continue }
                if !entry.action.isProbe { await finishLoadsEnding(by: entry.at) }
                let due = origin + lag + .nanoseconds(entry.at.nanoseconds)
                if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                if case .probe(let pods) = entry.action {
                    for index in pods {
                        guard var probe = probes[index] else { continue }
                        let pod = cluster.pods[index]
                        let timeout = TimeAmount.nanoseconds(min(1_000_000_000, scenario.mesh.sidecarReadinessProbe.period.nanoseconds))
                        let answer = try? await MeshHTTP.request(host: pod.ip, port: adminPort, path: "/ready", timeout: timeout)
                        let change = probe.record(success: answer?.status == 200)
                        probes[index] = probe
                        if let ready = change { await setReady(index, ready) }
                    }
                }
                if case .restartSidecar(let pods) = entry.action {
                    for index in pods where sidecars[index] == nil && probes[index] != nil {
                        let pod = cluster.pods[index]
                        do {
                            try await startSidecar(index, fromCache: true)
                            events.append(SimEvent(at: elapsed(), kind: .fault, text: "sidecar of \(pod.key) restarted"))
                            // Then the controller's current config, when it changed meanwhile.
                            let current = controller.config(for: pod.key)?.renderedJSON(pretty: true)
                            if let current, current != (try? String(contentsOfFile: configPath(index), encoding: .utf8)) {
                                await push(ControllerUpdate(changed: [pod.key]))
                            }
                        } catch {
                            events.append(SimEvent(at: elapsed(), kind: .note, text: "cannot restart the sidecar of \(pod.key): \(error)"))
                        }
                    }
                }
                if case .restart(let pods) = entry.action {
                    for index in pods {
                        let pod = cluster.pods[index]
                        do {
                            try await apps[index].restart(group: appGroup)
                            let update = controller.apply([.upsert(.pod(pod.resource))])
                            if controller.isMeshed(pod.key) || cluster.egressGatewayPorts[index] != nil { try await startSidecar(index) }
                            if exclusions[index] != nil { exclusions[index] = controller.meshConfig.traffic.outboundIPRangeExclusionList }
                            events.append(SimEvent(at: elapsed(), kind: .fault, text: "restarted pod \(pod.key)"))
                            await push(update)
                        } catch {
                            events.append(SimEvent(at: elapsed(), kind: .note, text: "cannot restart pod \(pod.key): \(NetworkErrorText.reason(of: error))"))
                        }
                    }
                }
                continue
            }
            if !step.action.isLoad { await finishLoadsEnding(by: step.at) }
            let due = origin + lag + .nanoseconds(step.at.nanoseconds)
            if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
            switch step.action {
            case .apply(let resources):
                events.append(SimEvent(at: elapsed(), kind: .change, text: "applied " + resources.map { "\($0.kind.rawValue) \($0.metadata.namespace)/\($0.metadata.name)" }.joined(separator: ", ")))
                await push(controller.apply(resources.map { .upsert($0) }))
            case .delete(let key):
                events.append(SimEvent(at: elapsed(), kind: .change, text: "deleted \(key.kind.rawValue) \(key.namespace)/\(key.name)"))
                await push(controller.apply([.delete(key)]))
            case .load(let load):
                guard var client = loadClients[load.name] else { continue }
                // Past the sidecar when the client pod's capture excludes the destination.
                if client.kubeProxy == nil, let pod = cluster.pods.firstIndex(where: { $0.ip == client.ip }),
                   let direct = Self.pastTheSidecar(client.url, ranges: exclusions[pod] ?? [], scenario: scenario, cluster: cluster) {
                    client.kubeProxy = direct
                }
                let recorder = RealLoadRecorder(spec: load, headerNames: HeaderTally.names(for: load.name, in: scenario.expectations))
                recorders.append(recorder)
                events.append(SimEvent(at: elapsed(), kind: .load, text: "load \(load.name) started: \(load.url) from \(load.from)"))
                let runDeadline = scenario.duration.map { origin + lag + .nanoseconds($0.nanoseconds) }
                let runner = RealLoadRunner(spec: load, url: client.url, clientIP: client.ip, kubeProxy: client.kubeProxy, serverFirst: client.serverFirst,
                                            recorder: recorder, tcpCalls: tcpCalls, origin: origin, runDeadline: runDeadline,
                                            cookies: load.cookies ? NIOLockedValueBox(CookieJar()) : nil, tls: loadTLS[load.name])
                running.append((RealModeRunner.nominalEnd(of: load, at: step.at), Task { await runner.run() }))
            case .fault(.killPod(let target, _)):
                // The pod dies: its sidecar and app stop at once (requests in flight on it fail),
                // and it leaves the endpoints through the controller. Its restart is a timeline entry.
                for index in cluster.pods(target: target) {
                    let pod = cluster.pods[index]
                    if let sidecar = sidecars.removeValue(forKey: index) { await sidecar.shutdown(drainTimeout: .zero) }
                    await apps[index].stop()
                    events.append(SimEvent(at: elapsed(), kind: .fault, text: "killed pod \(pod.key)"))
                    await push(controller.apply([.delete(ResourceKey(kind: .pod, namespace: pod.key.namespace, name: pod.key.name))]))
                }
            case .fault(.sidecarCrash(let target, _)):
                // The sidecar dies (its connections close, requests in flight through it fail); the
                // app keeps serving on its port. Probes and the restart are timeline entries.
                for index in cluster.pods(target: target) {
                    let pod = cluster.pods[index]
                    guard let sidecar = sidecars.removeValue(forKey: index) else {
                        events.append(SimEvent(at: elapsed(), kind: .note, text: "fault sidecar-crash: \(pod.key) has no running sidecar"))
                        continue
                    }
                    await sidecar.shutdown(drainTimeout: .zero)
                    if probes[index] == nil {
                        probes[index] = ReadinessProbe(settings: scenario.mesh.sidecarReadinessProbe, ready: podResources[index].isReady)
                    }
                    events.append(SimEvent(at: elapsed(), kind: .fault, text: "sidecar of \(pod.key) crashed"))
                }
            case .fault(let fault):
                guard case .error(let target, let status, let rate, let duration) = fault else { continue }
                let targets = cluster.pods(target: target)
                for pod in targets { apps[pod].state.withLockedValue { $0.setErrorFault(status: status, rate: min(max(rate, 0), 1)) } }
                events.append(SimEvent(at: elapsed(), kind: .fault, text: "error fault on \(target): \(status) for \(rate) of requests"))
                if let duration {
                    let clearAt = ContinuousClock.now + .nanoseconds(duration.nanoseconds)
                    let servers = targets.map { apps[$0] }
                    background.append(Task {
                        try? await Task.sleep(until: clearAt, clock: .continuous)
                        for server in servers { server.state.withLockedValue { $0.setErrorFault(status: 0, rate: 0) } }
                    })
                }
            }
        }
        for load in running { await load.task.value }
        for task in background { await task.value }
        if let gatewayFailure {
            await stopAll()
            throw RealModeError.setup(gatewayFailure)
        }
        if let duration = scenario.duration {
            let runDeadline = origin + lag + .nanoseconds(duration.nanoseconds)
            if runDeadline > .now { try? await Task.sleep(until: runDeadline, clock: .continuous) }
        }
        // Whole milliseconds: finer digits of a wall-clock run carry no meaning.
        let wallTime = MeshDuration.milliseconds(elapsed().nanoseconds / 1_000_000)

        // The gateways drain first: a mirror copy still on its way counts at its app, as in the simulator.
        await gateways.stop()
        // Results in the simulator's shape.
        accessLogs.flush()
        let loads = recorders.map { recorder in
            var result = recorder.result(flags: accessLogs.flags(of:))
            result.upstreamHeaders = upstreamHeaders.observations(of: recorder.spec.name)
            return result
        }
        // The gateway pods serve no app: listed with nothing received, as the simulator lists them.
        var appTotals: [String: (received: Int, counters: [AppCounter])] = Dictionary(gateways.deployments.map { ($0, (0, [])) }, uniquingKeysWith: { a, _ in a })
        for app in apps {
            let state = app.state.withLockedValue { $0 }
            var entry = appTotals[app.pod.deployment] ?? (0, [])
            entry.received += state.received
            for counter in state.counters {
                if let at = entry.counters.firstIndex(where: { $0.name == counter.name }) { entry.counters[at].value += counter.value } else { entry.counters.append(counter) }
            }
            appTotals[app.pod.deployment] = entry
        }
        let appResults = appTotals.sorted { $0.key < $1.key }.map { AppResult(deployment: $0.key, received: $0.value.received, counters: $0.value.counters) }
        var proxies: [ProxyResult] = []
        for (index, sidecar) in sidecars {
            let text = (try? await sidecar.onLoop { $0.statsText() }) ?? ""
            let configBytes = (try? await sidecar.onLoop { $0.configDump()?.utf8.count ?? 0 }) ?? 0
            proxies.append(ProxyResult(pod: cluster.pods[index].key.description, configBytes: configBytes, counters: RealModeRunner.parseStats(text)))
        }
        proxies.sort { $0.pod < $1.pod }
        await stopAll()
        // After the sidecars stopped: each delivered its last spans as it stopped tracing.
        let traceSources = recorders.map { recorder in
            (name: recorder.spec.name, traceIDs: recorder.finishedRequestIDs.compactMap(accessLogs.traceID(of:)))
        }
        let traces = spans.summary(configured: controller.meshConfig.observability.tracing.enable, loads: traceSources)

        let real = SimulationResult(scenario: original, seed: seed, virtualTime: wallTime, loads: loads, apps: appResults, proxies: proxies,
                                    events: events.sorted { $0.at < $1.at }, traces: traces)
        var simulation = Simulation(scenario: original, seed: seed)
        let simulated = simulation.run()
        return RealModeReport(real: Report(result: real), simulated: Report(result: simulated), subnet: lease.number, mutualTLS: options.mutualTLS,
                              gateways: gateways.deployments)
    }

    /// A raw TCP load dials what DNS gives its app, the service's cluster IP, as a real client
    /// does (the sidecar then sees that destination, as after a capture): a TCP traffic match names
    /// no host, so the sidecar could not resolve the name itself. HTTP loads keep the name, which
    /// travels in the Host header.
    static func resolved(_ url: LoadURL, in cluster: RealCluster, from namespace: String) -> LoadURL {
        guard url.isTCP, let ip = cluster.resolve(host: url.host, clientNamespace: namespace) else { return url }
        var resolved = url
        resolved.host = ip
        return resolved
    }

    /// When a load is meant to be over, in scenario time: its own duration, or its request count
    /// at its rate; nil for a closed-loop load with a request count (it lasts as long as it takes).
    static func nominalEnd(of load: LoadSpec, at start: MeshDuration) -> Int64? {
        if let duration = load.duration { return start.nanoseconds + duration.nanoseconds }
        if let requests = load.requests, let qps = load.qps, qps > 0 { return start.nanoseconds + Int64(Double(requests) / qps * 1e9) }
        return load.requests == nil ? start.nanoseconds + RealLoadRunner.defaultDuration : nil
    }

    /// `name: value` lines (the admin `/stats` text) → sorted counters.
    static func parseStats(_ text: String) -> [(name: String, value: UInt64)] {
        var counters: [(name: String, value: UInt64)] = []
        for line in text.split(separator: "\n") {
            guard let colon = line.range(of: ": ", options: .backwards), let value = UInt64(line[colon.upperBound...]) else { continue }
            counters.append((String(line[..<colon.lowerBound]), value))
        }
        return counters.sorted { $0.name < $1.name }
    }
}

/// The steps of a real run in time order, with the restarts of killed pods, the restarts of
/// crashed sidecars and the readiness probes of those sidecars as entries of their own.
struct RealTimeline {
    enum Action {
        case step(Step)
        case restart(pods: [Int])
        case restartSidecar(pods: [Int])
        /// The kubelet probes these pods' sidecars (the pods' own probe ticks, from the run's start).
        case probe(pods: [Int])
    }

    struct Entry {
        var at: MeshDuration
        var action: Action
    }

    let entries: [Entry]

    init(_ steps: [Step], cluster: RealCluster, probe: ReadinessProbe.Settings = .kubelet) {
        var entries = steps.map { Entry(at: $0.at, action: .step($0)) }
        for step in steps {
            if case .fault(.killPod(let target, let restartAfter?)) = step.action {
                entries.append(Entry(at: MeshDuration(nanoseconds: step.at.nanoseconds + max(0, restartAfter.nanoseconds)),
                                     action: .restart(pods: cluster.pods(target: target))))
            }
            if case .fault(.sidecarCrash(let target, let restartAfter)) = step.action {
                let pods = cluster.pods(target: target)
                let restartAt = MeshDuration(nanoseconds: step.at.nanoseconds + max(0, restartAfter.nanoseconds))
                entries.append(Entry(at: restartAt, action: .restartSidecar(pods: pods)))
                entries += Self.probeTicks(crashAt: step.at, restartAt: restartAt, probe: probe).map { Entry(at: $0, action: .probe(pods: pods)) }
            }
        }
        // Stable: steps at the same time keep the file's order, a restart comes after them.
        self.entries = entries.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }
}

extension RealTimeline {
    /// The probe ticks (from the run's start, every period) that can change a crashed sidecar's
    /// readiness: from the crash until enough ticks after its restart to see it ready again.
    static func probeTicks(crashAt: MeshDuration, restartAt: MeshDuration, probe: ReadinessProbe.Settings) -> [MeshDuration] {
        let state = ReadinessProbe(settings: probe)
        let last = restartAt + probe.period * Int64(max(1, probe.successThreshold) + 1)
        var ticks: [MeshDuration] = []
        var tick = state.nextTick(after: crashAt, epoch: .zero)
        while tick <= last {
            ticks.append(tick)
            tick = tick + probe.period
        }
        return ticks
    }
}

extension RealTimeline.Action {
    fileprivate var isProbe: Bool {
        if case .probe = self { return true }
        return false
    }
}

extension Step.Action {
    /// Loads start traffic; every other step changes the world the loads run in.
    fileprivate var isLoad: Bool {
        if case .load = self { return true }
        return false
    }
}
