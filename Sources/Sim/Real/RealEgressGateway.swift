import Logging
import MeshControl
import MeshModel
import MeshRuntime

/// The egress gateway pods of a real run, as the simulator runs its own (`SimEngine+EgressGateway`):
/// each pod behind a Service an EgressGateway names runs the runtime `fsm egress-gateway` runs, in
/// process: a `SidecarProcess` with the gateway's fixed config (`ProxyConfig.egressGateway`, its
/// own address refused), its outbound listener on the pod's loopback address at the tunnel port
/// (the target port the controller gives the meshed sidecars), admin and Prometheus ports on the
/// same address as every real-mode sidecar's, and the run's access log. The run keeps it with the
/// sidecars, so a kill or a `sidecar-crash` on its pod stops it, its restart starts it again, the
/// kubelet's probes ask its `/ready`, and its counters are reported under the pod.
enum RealEgressGateway {
    static func start(pod: RealPod, port: Int, accessLog: AccessLogSink, logger: Logger) async throws -> SidecarProcess {
        // The gateway talks to no peer sidecar: its inbound listener (an ephemeral port) admits nothing.
        var settings = SidecarSettings(podIP: pod.ip, peerTransport: .insecurePlaintext, outboundPort: port, inboundPort: 0,
                                       workload: WorkloadLabels(kind: "Deployment", name: pod.deployment))
        settings.accessLog = accessLog
        let config = ProxyConfig.egressGateway(namespace: pod.key.namespace, name: pod.deployment, listenAddress: pod.ip)
        return try await SidecarProcess.start(config: config, settings: settings, logger: logger)
    }
}
