import CoreMetrics
import MeshModel
import MeshProxy
import Prometheus

/// The Kubernetes workload a sidecar runs for, as the metric labels name it
/// (`source_kind`, `source_name`, `source_pod`, `source_namespace` and the `destination_` ones).
/// Empty fields are unknown (Prometheus treats an empty label like a missing one).
public struct WorkloadLabels: Sendable, Hashable {
    public var kind: String
    public var name: String
    public var pod: String
    public var namespace: String

    public init(kind: String = "", name: String = "", pod: String = "", namespace: String = "") {
        self.kind = kind
        self.name = name
        self.pod = pod
        self.namespace = namespace
    }

    public static let unknown = WorkloadLabels()
}

/// One sidecar's metrics, recorded through the swift-metrics API into its own
/// `PrometheusCollectorRegistry` (the factory is passed explicitly, so sidecars sharing a process
/// keep separate metrics) and exposed as Prometheus text on the admin port:
/// - `fsm_request_total{source_*,destination_*,response_code}` and the `fsm_request_duration_ms`
///   histogram (milliseconds; the same labels without `response_code`, as the guides list them);
/// - the shell's own counters (`runtime.*` → `sidecar_runtime_*`), incremented as they happen;
/// - the engine's Envoy-style counters, carried over at each scrape under the names FSM's Pipy
///   sidecar exports (`SidecarMetrics+FSMNames.swift`: `sidecar_cluster_upstream_rq_xx` with its
///   response-code class and source workload labels, `sidecar_cluster_<counter>{sidecar_cluster_name}`,
///   rate-limit outcomes as labels); `*_active` ones are gauges;
/// - `sidecar_server_live` and the upstream bytes per cluster.
///
/// Handles are created once per label set and cached, so a request costs one dictionary lookup.
/// Loop-confined (owned by `SidecarDriver`).
public final class SidecarMetrics: @unchecked Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    public static let requestTotal = "fsm_request_total"
    public static let requestDuration = "fsm_request_duration_ms"
    /// Upper bounds in milliseconds of `fsm_request_duration_ms` (the last bucket is +Inf).
    public static let durationBuckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    private struct RequestKey: Hashable {
        var source: WorkloadLabels
        var destination: WorkloadLabels
        var status: Int
    }

    private var requestHandles: [RequestKey: (total: CoreMetrics.Counter, duration: Recorder)] = [:]

    private struct OutboundKey: Hashable {
        var cluster: String?
        var status: Int
    }

    /// Outbound requests' handles by (cluster, status), for `outboundSource`: saves building the
    /// destination labels from the cluster name and hashing eight label strings per request.
    private var outboundHandles: [OutboundKey: (total: CoreMetrics.Counter, duration: Recorder)] = [:]
    private var outboundSource = WorkloadLabels.unknown
    private var runtimeHandles: [CoreMetrics.Counter?] = Array(repeating: nil, count: RuntimeCounters.Name.allCases.count)
    /// Engine counters already carried into the registry: the handle and the value it holds.
    private var engineCounters: [String: (counter: CoreMetrics.Counter, exported: UInt64)] = [:]
    private var engineGauges: [String: Meter] = [:]
    /// Family name → (labeled, gauge), so that a name is never registered twice in incompatible
    /// ways (the registry would stop the process).
    var families: [String: (labeled: Bool, gauge: Bool)] = [:]
    /// Upstream byte counters by cluster name (`byteCounters(cluster:)`).
    var byteHandles: [String: (received: CoreMetrics.Counter, sent: CoreMetrics.Counter)] = [:]
    /// `sidecar_runtime_config_stale`: 1 while the sidecar serves from its cache directory.
    private var staleGauge: Meter?
    static let staleStatName = "runtime.config_stale"

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets[SidecarMetrics.requestDuration] = SidecarMetrics.durationBuckets
        self.factory = factory
        families[SidecarMetrics.requestTotal] = (true, false)
        families[SidecarMetrics.requestDuration] = (true, false)
        families[SidecarMetrics.serverLive] = (false, true)
        Meter(label: SidecarMetrics.serverLive, dimensions: [], factory: factory).set(1.0)
    }

    /// One proxied request answered (by the peer, the app or the sidecar itself).
    func recordRequest(source: WorkloadLabels, destination: WorkloadLabels, status: Int, milliseconds: Double) {
        let handles = self.handles(RequestKey(source: source, destination: destination, status: (0..<1000).contains(status) ? status : 0))
        handles.total.increment()
        handles.duration.record(max(0, milliseconds))
    }

    private func handles(_ key: RequestKey) -> (total: CoreMetrics.Counter, duration: Recorder) {
        let handles: (total: CoreMetrics.Counter, duration: Recorder)
        if let cached = requestHandles[key] {
            handles = cached
        } else {
            let (source, destination) = (key.source, key.destination)
            let labels = [
                ("source_kind", source.kind), ("source_name", source.name), ("source_pod", source.pod), ("source_namespace", source.namespace),
                ("destination_kind", destination.kind), ("destination_name", destination.name),
                ("destination_pod", destination.pod), ("destination_namespace", destination.namespace),
            ]
            handles = (
                CoreMetrics.Counter(label: SidecarMetrics.requestTotal, dimensions: labels + [("response_code", String(key.status))], factory: factory),
                Recorder(label: SidecarMetrics.requestDuration, dimensions: labels, aggregate: true, factory: factory)
            )
            requestHandles[key] = handles
        }
        return handles
    }

    /// An outbound request answered: the destination is the service behind `cluster`
    /// (`WorkloadLabels(cluster:…)`); the same series as `recordRequest`.
    func recordOutboundRequest(source: WorkloadLabels, cluster: String?, status: Int, milliseconds: Double) {
        if source != outboundSource {
            outboundSource = source
            outboundHandles.removeAll()
        }
        let key = OutboundKey(cluster: cluster, status: status)
        let handles: (total: CoreMetrics.Counter, duration: Recorder)
        if let cached = outboundHandles[key] {
            handles = cached
        } else {
            let destination = WorkloadLabels(cluster: cluster, kind: nil, name: nil, pod: nil, namespace: nil)
            handles = self.handles(RequestKey(source: source, destination: destination, status: (0..<1000).contains(status) ? status : 0))
            outboundHandles[key] = handles
        }
        handles.total.increment()
        handles.duration.record(max(0, milliseconds))
    }

    func count(_ name: RuntimeCounters.Name) {
        if let counter = runtimeHandles[name.rawValue] {
            counter.increment()
            return
        }
        let family = SidecarMetrics.familyName(name.statName[...])
        families[family] = (false, false)
        let counter = CoreMetrics.Counter(label: family, dimensions: [], factory: factory)
        runtimeHandles[name.rawValue] = counter
        counter.increment()
    }

    func setStale(_ stale: Bool) {
        if staleGauge == nil {
            let family = SidecarMetrics.familyName(SidecarMetrics.staleStatName[...])
            families[family] = (false, true)
            staleGauge = Meter(label: family, dimensions: [], factory: factory)
        }
        staleGauge?.set(stale ? 1.0 : 0.0)
    }

    /// Every runtime counter appears from the start (at zero), so a scrape shows what can go wrong.
    func registerRuntimeCounters() {
        setStale(false)
        for name in RuntimeCounters.Name.allCases where runtimeHandles[name.rawValue] == nil {
            let family = SidecarMetrics.familyName(name.statName[...])
            families[family] = (false, false)
            runtimeHandles[name.rawValue] = CoreMetrics.Counter(label: family, dimensions: [], factory: factory)
        }
    }

    /// A gauge of the shell's (`runtime.<name>` → `sidecar_runtime_<name>`), set at a scrape.
    func setRuntimeGauge(_ statName: String, to value: Int) {
        let family = SidecarMetrics.familyName(statName[...])
        if let known = families[family], known.labeled || !known.gauge { return }
        families[family] = (false, true)
        let meter = engineGauges[family] ?? Meter(label: family, dimensions: [], factory: factory)
        engineGauges[family] = meter
        meter.set(Double(value))
    }

    /// Carries the engine's counters into the registry (under FSM's names, with `source` as the
    /// source workload labels) and renders the text exposition format.
    func exposition(engineStats: SidecarStats, source: WorkloadLabels) -> String {
        for (name, value) in engineStats.counters() {
            let (family, labels) = SidecarMetrics.engineSeries(name, source: source)
            let gauge = family.hasSuffix("_active")
            let key = labels.reduce(family) { $0 + "\u{0}" + $1.1 }
            if let known = families[family], known.labeled != !labels.isEmpty || known.gauge != gauge { continue }
            families[family] = (!labels.isEmpty, gauge)
            if gauge {
                let meter = engineGauges[key] ?? Meter(label: family, dimensions: labels, factory: factory)
                engineGauges[key] = meter
                meter.set(Double(value))
            } else {
                var entry = engineCounters[key] ?? (CoreMetrics.Counter(label: family, dimensions: labels, factory: factory), 0)
                if value > entry.exported {
                    entry.counter.increment(by: Int64(clamping: value - entry.exported))
                    entry.exported = value
                }
                engineCounters[key] = entry
            }
        }
        return registry.emitToString()
    }

    static func familyName(_ statName: Substring) -> String { "sidecar_" + sanitize(statName) }

    /// Metric names allow `[a-zA-Z0-9_:]`; everything else becomes `_`.
    static func sanitize(_ name: Substring) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        for scalar in name.unicodeScalars {
            let isValid = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9") || scalar == "_" || scalar == ":"
            out.unicodeScalars.append(isValid ? scalar : "_")
        }
        return out
    }
}

extension WorkloadLabels {
    /// This sidecar's own labels: what its settings (the command line, the injector's owner) say,
    /// the rest from the config's `Spec.Workload` (stamped by the controller), the namespace
    /// failing that from the config's identity.
    init(settings: WorkloadLabels, config: ProxyConfig) {
        let stamped = config.spec.workload
        func pick(_ set: String, _ fromConfig: String?) -> String { set.isEmpty ? fromConfig ?? "" : set }
        var namespace = pick(settings.namespace, stamped?.namespace)
        if namespace.isEmpty { namespace = WorkloadLabels(peerIdentity: config.serviceIdentity, kind: nil, name: nil, pod: nil, namespace: nil).namespace }
        self.init(kind: pick(settings.kind, stamped?.kind), name: pick(settings.name, stamped?.name), pod: pick(settings.pod, stamped?.pod), namespace: namespace)
    }

    /// The peer of an inbound request: the namespace from its verified identity
    /// (`sa.namespace.cluster.local`), the rest from the `x-fsm-stats-*` headers its sidecar sent.
    init(peerIdentity: String?, kind: String?, name: String?, pod: String?, namespace: String?) {
        var identityNamespace: String?
        if let peerIdentity {
            let parts = peerIdentity.split(separator: ".", maxSplits: 2)
            if parts.count >= 2 { identityNamespace = String(parts[1]) }
        }
        self.init(kind: kind ?? "", name: name ?? "", pod: pod ?? "", namespace: identityNamespace ?? namespace ?? "")
    }

    /// The destination of an outbound request as the sidecar knows it: the service behind the
    /// cluster (`namespace/service|port`), refined by the `x-fsm-stats-*` headers of the answer.
    init(cluster: String?, kind: String?, name: String?, pod: String?, namespace: String?) {
        var clusterNamespace = "", clusterService = ""
        if let cluster, let slash = cluster.firstIndex(of: "/") {
            clusterNamespace = String(cluster[..<slash])
            let rest = cluster[cluster.index(after: slash)...]
            clusterService = String(rest[..<(rest.firstIndex(of: "|") ?? rest.endIndex)])
        }
        self.init(kind: kind ?? "", name: name ?? clusterService, pod: pod ?? "", namespace: namespace ?? clusterNamespace)
    }
}
