import MeshControl
import MeshModel
import MeshProxy

/// `fault: { kind: sidecar-crash }` and the kubelet around it: the sidecar dies while its app keeps
/// running; the kubelet probes the sidecar's `/ready` every `mesh.sidecarReadinessProbe.period`,
/// and after `failureThreshold` failures reports the pod not ready, which takes it out of its
/// services' endpoints through the controller (as `fsm supervise` does with the real controller);
/// the kubelet starts the sidecar again after `restartAfter`, from its cached config, and the next
/// successful probe makes the pod ready again.
extension SimEngine {
    func crashSidecar(_ pod: Int, restartAfter: MeshDuration) {
        // An egress gateway pod's only container is the gateway: the engine in its gateway role.
        guard pods[pod].alive, pods[pod].hasSidecar || egressGatewayPorts[pod] != nil, !pods[pod].sidecarDown else {
            return record("fault sidecar-crash: \(podName(pod)) has no running sidecar")
        }
        pods[pod].sidecarDown = true
        pods[pod].incarnation += 1
        dropConnections(of: pod)
        record("sidecar of \(podName(pod)) crashed", kind: .fault)
        pendingFaultTimers += 1
        queue.schedule(.sidecarRestart(Int32(pod)), at: now + max(0, restartAfter.nanoseconds))
        startProbing(pod)
    }

    func restartSidecar(_ pod: Int) {
        pendingFaultTimers -= 1
        // A pod killed meanwhile starts a new sidecar of its own when it restarts.
        guard pods[pod].alive, pods[pod].sidecarDown else { return }
        pods[pod].sidecarDown = false
        pods[pod].incarnation += 1
        sidecars[pod] = Sidecar()
        record("sidecar of \(podName(pod)) restarted", kind: .fault)
        // It serves from its cached config at once, and fetches the controller's current one.
        if let cached = pods[pod].cachedConfig { applyConfig(cached, to: pod) }
        if let current = controller.config(for: pods[pod].key), current.version != pods[pod].cachedConfig?.version {
            pendingPushes.append([pod])
            queue.schedule(.configPush(Int32(pendingPushes.count - 1)), at: now + configDelay)
        }
    }

    /// Schedules the pod's next probe tick unless one is pending.
    private func startProbing(_ pod: Int) {
        if pods[pod].probe == nil { pods[pod].probe = ReadinessProbe(settings: scenario.mesh.sidecarReadinessProbe, ready: pods[pod].resource.isReady) }
        guard !pods[pod].probing, let probe = pods[pod].probe else { return }
        let tick = probe.nextTick(after: MeshDuration(nanoseconds: now), epoch: MeshDuration(nanoseconds: pods[pod].probeEpoch))
        pods[pod].probing = true
        pendingFaultTimers += 1
        queue.schedule(.readinessProbe(Int32(pod)), at: tick.nanoseconds)
    }

    /// One probe tick: `/ready` answers while the sidecar runs (a restarted one has its cached config).
    func probeSidecar(_ pod: Int) {
        pendingFaultTimers -= 1
        pods[pod].probing = false
        guard pods[pod].alive, var probe = pods[pod].probe else { return }
        let change = probe.record(success: !pods[pod].sidecarDown)
        pods[pod].probe = probe
        if let ready = change { setReady(pod, ready) }
        // Probes that cannot change anything any more are not simulated.
        if pods[pod].sidecarDown || !probe.isSettled { startProbing(pod) }
    }

    /// The kubelet reports the pod's Ready condition; the controller moves its endpoints.
    private func setReady(_ pod: Int, _ ready: Bool) {
        pods[pod].resource.setReady(ready)
        worldVersion += 1
        record("pod \(podName(pod)) \(ready ? "ready" : "not ready")", kind: .fault)
        let update = controller.apply([.upsert(.pod(pods[pod].resource))])
        noteDiagnostics()
        schedulePush(update)
    }
}
