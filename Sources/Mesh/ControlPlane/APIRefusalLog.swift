import CoreMetrics
import MeshControl
import MeshIdentity
import Prometheus

/// The controller's record of refused API requests: `fsm_api_refused_count{reason}` (every reason
/// present from the start at zero), and which causes were logged already, so that a sidecar
/// retrying with a bad credential is logged once, not on every retry.
struct APIRefusalLog {
    /// Causes remembered for the once-only log; later new causes are counted but not logged.
    static let maxLoggedCauses = 1024

    private var counters: [ControllerAccess.Reason: CoreMetrics.Counter] = [:]
    private var logged = Set<Cause>()

    private struct Cause: Hashable {
        var reason: ControllerAccess.Reason
        var subject: CredentialSubject?
        var resource: ControllerResource
    }

    init(registry: PrometheusCollectorRegistry) {
        let factory = PrometheusMetricsFactory(registry: registry)
        for reason in ControllerAccess.Reason.allCases {
            counters[reason] = CoreMetrics.Counter(label: "fsm_api_refused_count", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
    }

    /// Counts a refusal; true when its cause (reason, caller, resource) is new and should be logged.
    mutating func record(_ refusal: ControllerAccess.Refusal, resource: ControllerResource) -> Bool {
        counters[refusal.reason]?.increment()
        guard logged.count < Self.maxLoggedCauses else { return false }
        return logged.insert(Cause(reason: refusal.reason, subject: refusal.subject, resource: resource)).inserted
    }
}
