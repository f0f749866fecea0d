import CoreMetrics
import MeshControl
import MeshModel
import NIOCore
import NIOHTTP1
import Prometheus

/// The controller's share of the guides' control-plane metrics (fsm-guides.txt 4.1, the table of
/// inventory §4.5), on `/metrics` of its API and operations (9091) listeners:
/// - `fsm_proxy_connect_count`: proxies holding a long poll (connected and waiting for a change);
/// - `fsm_proxy_xds_request_count{proxy_uuid,identity,type}` and
///   `fsm_proxy_response_send_success_count{proxy_uuid,identity,type}`: config requests and configs
///   sent (`type="config"`; the uuid is the pod's `fsm-proxy-uuid` label, else `<ns>/<pod>`);
/// - `fsm_proxy_broadcast_event_count`: applies that changed some proxy's config;
/// - `fsm_proxy_config_update_time{resource_type,success}`: seconds spent computing configs;
/// - `fsm_proxy_max_connections_rejected`: long polls refused over the held-poll limit;
/// - `fsm_k8s_api_event_count{type,namespace}`: resource events from the cluster source
///   (`type` is `<Kind>Updated` or `<Kind>Deleted`);
/// - `fsm_feature_flag_enabled{feature_flag}`: the MeshConfig's feature flags, 1 or 0;
/// - `fsm_http_response_total{code,method,path}` and `fsm_http_response_duration{code,method,path}`
///   (seconds): every answer of the controller's HTTP API, by route (`/v1/configs/{namespace}/{pod}`).
/// Loop-confined (the controller's event loop).
final class ControllerMetrics: @unchecked Sendable {
    private let factory: PrometheusMetricsFactory
    private let proxyConnect: Meter
    private let broadcast: CoreMetrics.Counter
    private let maxConnectionsRejected: CoreMetrics.Counter
    private let configUpdate: CoreMetrics.Timer
    private var perProxy: [String: CoreMetrics.Counter] = [:]
    private var apiEvents: [String: CoreMetrics.Counter] = [:]
    private var httpResponses: [String: (total: CoreMetrics.Counter, duration: CoreMetrics.Timer)] = [:]
    private var featureFlags: [String: Meter] = [:]

    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50),
        .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
    ]

    init(registry: PrometheusCollectorRegistry) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["fsm_proxy_config_update_time"] = ControllerMetrics.durationBuckets
        factory.durationHistogramBuckets["fsm_http_response_duration"] = ControllerMetrics.durationBuckets
        self.factory = factory
        proxyConnect = Meter(label: "fsm_proxy_connect_count", dimensions: [], factory: factory)
        proxyConnect.set(0.0)
        broadcast = CoreMetrics.Counter(label: "fsm_proxy_broadcast_event_count", dimensions: [], factory: factory)
        maxConnectionsRejected = CoreMetrics.Counter(label: "fsm_proxy_max_connections_rejected", dimensions: [], factory: factory)
        configUpdate = CoreMetrics.Timer(label: "fsm_proxy_config_update_time", dimensions: [("resource_type", "proxy"), ("success", "true")], factory: factory)
    }

    func proxiesConnected(_ count: Int) { proxyConnect.set(Double(count)) }
    func pollRefused() { maxConnectionsRejected.increment() }

    /// One apply of resource changes: their events, the time the configs took, a broadcast when
    /// some config changed, and the feature flags in force after it.
    func applied(_ changes: [ResourceChange], nanoseconds: Int64, configsChanged: Bool, featureFlags flags: MeshConfig.FeatureFlags) {
        for change in changes {
            let (type, namespace): (String, String)
            switch change {
            case .upsert(let resource): (type, namespace) = ("\(resource.key.kind.rawValue)Updated", resource.key.namespace)
            case .delete(let key): (type, namespace) = ("\(key.kind.rawValue)Deleted", key.namespace)
            }
            counter(&apiEvents, type + "\u{0}" + namespace, "fsm_k8s_api_event_count", [("type", type), ("namespace", namespace)]).increment()
        }
        configUpdate.recordNanoseconds(nanoseconds)
        if configsChanged { broadcast.increment() }
        for (name, enabled) in [("enableEgressPolicy", flags.enableEgressPolicy), ("enableAccessControlPolicy", flags.enableAccessControlPolicy),
                                ("enableRetryPolicy", flags.enableRetryPolicy), ("enablePluginPolicy", flags.enablePluginPolicy),
                                ("enableAccessCertPolicy", flags.enableAccessCertPolicy)] {
            let meter = featureFlags[name] ?? Meter(label: "fsm_feature_flag_enabled", dimensions: [("feature_flag", name)], factory: factory)
            featureFlags[name] = meter
            meter.set(enabled ? 1.0 : 0.0)
        }
    }

    /// A proxy asked for its config.
    func configRequested(uuid: String, identity: String) {
        let labels = [("proxy_uuid", uuid), ("identity", identity), ("type", "config")]
        counter(&perProxy, "r\u{0}" + uuid + "\u{0}" + identity, "fsm_proxy_xds_request_count", labels).increment()
    }

    /// A proxy was sent a config (at once, or when its long poll saw a change).
    func configSent(uuid: String, identity: String) {
        let labels = [("proxy_uuid", uuid), ("identity", identity), ("type", "config")]
        counter(&perProxy, "s\u{0}" + uuid + "\u{0}" + identity, "fsm_proxy_response_send_success_count", labels).increment()
    }

    /// One HTTP answer of the API, by route template.
    func responded(status: HTTPResponseStatus, method: HTTPMethod, path: String, nanoseconds: Int64) {
        let code = String(status.code)
        let key = code + "\u{0}" + method.rawValue + "\u{0}" + path
        let handles = httpResponses[key] ?? {
            let labels = [("code", code), ("method", method.rawValue), ("path", path)]
            return (CoreMetrics.Counter(label: "fsm_http_response_total", dimensions: labels, factory: factory),
                    CoreMetrics.Timer(label: "fsm_http_response_duration", dimensions: labels, factory: factory))
        }()
        httpResponses[key] = handles
        handles.total.increment()
        handles.duration.recordNanoseconds(nanoseconds)
    }

    private func counter(_ table: inout [String: CoreMetrics.Counter], _ key: String, _ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        if let existing = table[key] { return existing }
        let made = CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
        table[key] = made
        return made
    }
}

extension ControllerResource {
    /// The route as `fsm_http_response_*` labels it (pods and namespaces as placeholders).
    var metricPath: String {
        switch self {
        case .health: "/healthz"
        case .metrics: "/metrics"
        case .rootCertificate: "/v1/ca"
        case .alive: "/health/alive"
        case .ready: "/health/ready"
        case .podList: "/v1/pods"
        case .status: "/v1/status"
        case .pod: "/v1/pods/{namespace}/{pod}"
        case .config: "/v1/configs/{namespace}/{pod}"
        case .certificate: "/v1/certificates/{namespace}/{pod}"
        case .podStatus: "/v1/pods/{namespace}/{pod}/status"
        case .gatewayConfig: "/v1/gateways/{namespace}/{gateway}"
        }
    }
}
