import MeshControl
import MeshModel
import MeshProxy

/// IPv4 addresses as integers, so that the hot path maps an endpoint to a pod without hashing
/// strings; numbering follows `AddressPlan.simulator`, shared with the one-machine mode.
enum IPv4 {
    static func parse(_ text: String) -> UInt32? { AddressPlan.parse(text) }
    static func format(_ ip: UInt32) -> String { AddressPlan.format(ip) }
    static func service(_ n: Int) -> UInt32 { AddressPlan.simulator.serviceAddress(n) }
    static func pod(_ n: Int) -> UInt32 { AddressPlan.simulator.podAddress(n) }
}

/// A Deployment, StatefulSet or bare Pod: the unit apps, backends and results are named by.
struct SimDeployment {
    var namespace: String
    var name: String
    /// nil for a bare Pod.
    var workload: Workload?
    var app: AppBehavior
    var pods: [Int] = []
    /// Deleted by a step: its pods are gone for good.
    var deleted = false
}

struct SimPod {
    var key: PodKey
    var deployment: Int
    var resource: Pod
    var ip: UInt32
    var ipText: String
    var alive = true
    /// Bumped at every kill and restart, and when the sidecar crashes or restarts: events
    /// addressed to the pod's network side (connections, hops, proxy timers) of an older
    /// incarnation are dropped.
    var incarnation: Int32 = 0
    /// Bumped when the whole pod is killed or restarted (its app's client loops stop); a sidecar
    /// crash leaves the app, and so this, alone.
    var appIncarnation: Int32 = 0
    /// The sidecar crashed and the kubelet has not started it again yet (the app still runs).
    var sidecarDown = false
    /// The kubelet's readiness probe of the sidecar; nil until something happens to the sidecar
    /// (a pod whose sidecar never failed passes every probe, so its probes are not simulated).
    var probe: ReadinessProbe?
    /// A probe tick is scheduled.
    var probing = false
    /// When the pod started: its probes run at `probeEpoch + k·period`.
    var probeEpoch: Int64 = 0
    /// The last config its sidecar applied: what a restarted sidecar loads from its cache.
    var cachedConfig: ProxyConfig?
    /// Removed for good (workload deleted or scaled down).
    var removed = false
    var hasSidecar = false
    /// The serviceIdentity of the applied config (nil: no sidecar or no config yet).
    var identity: String?
    var app: AppState
    /// Response headers the app sends (Identity), built once.
    var responseHeaders: [HTTPHeader]
    var labels: [String: String] { resource.metadata.labels }
}

struct SimService {
    var resource: Service
    /// 0 for headless services.
    var ip: UInt32
    var ipText: String
    var headless: Bool { ip == 0 }
    var namespace: String { resource.metadata.namespace }
    var name: String { resource.metadata.name }
    /// Round-robin cursor of the kube-proxy view (unmeshed clients).
    var nextEndpoint = 0
    var deleted = false
}

extension Pod {
    var containerPortsByName: [String: Int] {
        var ports: [String: Int] = [:]
        for container in spec.containers {
            for port in container.ports { if let name = port.name { ports[name] = port.containerPort } }
        }
        return ports
    }
}

func labelsMatch(_ selector: [String: String], _ labels: [String: String]) -> Bool {
    guard !selector.isEmpty else { return false }
    for (key, value) in selector where labels[key] != value { return false }
    return true
}
